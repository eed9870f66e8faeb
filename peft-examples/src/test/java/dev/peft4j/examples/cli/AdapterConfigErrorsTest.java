package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Bad adapters through {@code --adapter}: each fails with exit code 1, one message naming the file
 * and the field or tensor, and nothing on stdout. The adapters are the reference fixtures of {@code
 * shared/fixtures/peft-methods} with one field edited.
 */
class AdapterConfigErrorsTest {

    private static final Path LLAMA = Fixtures.fixture("tiny-causal-lm", "llama-bf16");

    @TempDir Path dir;

    /** A writable copy of a fixture adapter with {@code from} replaced by {@code to} in its config. */
    private Path edited(String fixture, String from, String to) throws IOException {
        Path src = Fixtures.fixture("peft-methods", fixture);
        Path copy = Files.createDirectories(dir.resolve(fixture + "-edited"));
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        Path config = copy.resolve("adapter_config.json");
        String json = Files.readString(config);
        assertTrue(json.contains(from), from);
        Files.writeString(config, json.replace(from, to));
        return copy;
    }

    private static CliRun logits(Path adapter) {
        return CliRun.of(new LogitsCommand(), "--model", LLAMA.toString(), "--adapter", adapter.toString(),
                "--ids", "1,2");
    }

    private static CliRun embed(Path adapter) {
        return CliRun.of(new EmbedCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--adapter", adapter.toString(),
                "--text", "hi");
    }

    @Test
    void unknownPeftType() throws IOException {
        Path a = edited("prefix-llama", "\"PREFIX_TUNING\"", "\"FOO\"");
        CliRun r = logits(a);
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: " + a.resolve("adapter_config.json") + ": unknown peft_type \"FOO\""
                + " (known: [BITFIT, BOTTLENECK, IA3, LORA, PREFIX_TUNING, PROMPT_TUNING, P_TUNING];"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void prefixForAnotherNumberOfLayers() throws IOException {
        Path a = edited("prefix-llama", "\"num_layers\": 2", "\"num_layers\": 3");
        CliRun r = logits(a);
        assertEquals(1, r.code());
        assertEquals("error: " + a.resolve("adapter_config.json") + ": num_layers 3 does not match the base model's"
                + " number of layers 2", r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void shapeThatDoesNotMatchTheConfig() throws IOException {
        Path a = edited("prefix-llama", "\"num_virtual_tokens\": 6", "\"num_virtual_tokens\": 5");
        CliRun r = logits(a);
        assertEquals(1, r.code());
        assertEquals("error: adapter weights in " + a.resolve("adapter_model.safetensors") + " do not match: tensor"
                + " prompt_embeddings has shape (6, 64) but the model expects (5, 64)", r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void bottleneckForAnotherHiddenSize() throws IOException {
        Path a = edited("seqbn-minilm", "\"hidden_size\": 384", "\"hidden_size\": 768");
        CliRun r = embed(a);
        assertEquals(1, r.code());
        assertEquals("error: " + a.resolve("adapter_config.json") + ": hidden_size is 768 in the adapter config (made"
                + " for sentence-transformers/all-MiniLM-L6-v2) but the model's hidden size is 384", r.err().strip());
        assertEquals("", r.out());
    }

    @Test
    void adapterHubPickleIsRefusedWithTheConversion() throws IOException {
        Path a = Files.createDirectories(dir.resolve("pickle"));
        Files.copy(Fixtures.fixture("peft-methods", "seqbn-minilm", "adapter_config.json"),
                a.resolve("adapter_config.json"));
        Files.writeString(a.resolve("pytorch_adapter.bin"), "not read");
        CliRun r = embed(a);
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: " + a.toAbsolutePath() + " holds AdapterHub's pickle weights"
                + " pytorch_adapter.bin, which peft4j does not read"), r.err());
        assertTrue(r.err().contains("st.save_file({k: v.contiguous() for k, v in torch.load(\"pytorch_adapter.bin\""),
                r.err());
        assertEquals("", r.out());
    }

    @Test
    void adapterHubDirectoryIsRecognisedAndCannotBeMerged() throws IOException {
        Path a = Fixtures.fixture("peft-methods", "seqbn-minilm");
        CliRun r = embed(a);
        assertEquals(0, r.code(), r.err());
        Path out = dir.resolve("merged");
        CliRun m = CliRun.of(new MergeCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--adapter", a.toString(),
                "--out", out.toString());
        assertEquals(1, m.code());
        assertEquals("error: " + a + " holds a BOTTLENECK adapter, which cannot be merged into the base weights (only"
                + " LORA, IA3 and BITFIT adapters merge); use it with --adapter instead", m.err().strip());
        assertTrue(Files.notExists(out), "nothing written");
    }
}
