package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.peft.PeftModel;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.Generator;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** {@code logits} and {@code generate} run standalone on the tiny fixture models. */
class LlamaCommandsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    private static long[] greedy(Path model, long[] prompt, int n) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            return new Generator(LlamaForCausalLM.load(model, m))
                    .generate(m, prompt, GenerationConfig.builder().setMaxNewTokens(n).build()).tokens();
        }
    }

    @Test
    void logitsOfLastPositionMatchReference() throws Exception {
        for (String name : new String[] {"llama-bf16", "qwen2-f32-sharded"}) {
            Path model = Fixtures.fixture("tiny-causal-lm", name);
            JsonNode exp = MAPPER.readTree(Fixtures.fixture("tiny-causal-lm", "expected.json").toFile()).get(name);
            String ids = Arrays.stream(MAPPER.treeToValue(exp.get("ids"), long[].class))
                    .mapToObj(Long::toString).collect(Collectors.joining(","));
            CliRun r = CliRun.of(new LogitsCommand(), "--model", model.toString(), "--ids", ids);
            assertEquals(0, r.code(), r.err());
            assertEquals("", r.err());
            assertEquals(1, r.out().lines().count(), r.out());
            double[] got = MAPPER.readValue(r.out(), double[].class);
            JsonNode last = exp.get("logits").get(exp.get("ids").size() - 1);
            assertEquals(128, got.length);
            for (int v = 0; v < got.length; v++) {
                assertEquals(last.get(v).asDouble(), got[v], 1e-4, name + " token " + v);
            }
        }
    }

    @Test
    void generatePrintsGreedyIds() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        CliRun r = CliRun.of(new GenerateCommand(), "--model", model.toString(), "--ids", "1,5,77", "--max-new-tokens", "6");
        assertEquals(0, r.code(), r.err());
        long[] got = MAPPER.readValue(r.out(), long[].class);
        assertArrayEquals(greedy(model, new long[] {1, 5, 77}, 6), got);
        assertEquals(1, r.out().lines().count(), "no tokenizer.json, no text: " + r.out());
    }

    @Test
    void generateSamplesReproduciblyWithSeed() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        String[] args = {"--model", model.toString(), "--ids", "1,5,77,30", "--max-new-tokens", "8",
            "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--seed", "7"};
        CliRun a = CliRun.of(new GenerateCommand(), args);
        CliRun b = CliRun.of(new GenerateCommand(), args);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        assertTrue(MAPPER.readValue(a.out(), long[].class).length >= 1);
    }

    @Test
    void generateDecodesWithTokenizerJson() throws Exception {
        Path fixture = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path model = Files.createDirectory(dir.resolve("with-tokenizer"));
        Files.copy(fixture.resolve("config.json"), model.resolve("config.json"));
        Files.copy(fixture.resolve("model.safetensors"), model.resolve("model.safetensors"));
        ObjectNode tok = MAPPER.createObjectNode();
        tok.put("version", "1.0");
        tok.putArray("added_tokens");
        tok.putObject("pre_tokenizer").put("type", "Whitespace");
        ObjectNode wordLevel = tok.putObject("model");
        wordLevel.put("type", "WordLevel");
        ObjectNode vocab = wordLevel.putObject("vocab");
        for (int i = 0; i < 128; i++) {
            vocab.put("w" + i, i);
        }
        wordLevel.put("unk_token", "w0");
        Files.writeString(model.resolve("tokenizer.json"), MAPPER.writeValueAsString(tok));

        CliRun r = CliRun.of(new GenerateCommand(), "--model", model.toString(), "--ids", "1,5,77", "--max-new-tokens", "4");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\\R");
        assertEquals(2, lines.length, r.out());
        long[] ids = MAPPER.readValue(lines[0], long[].class);
        assertEquals(Arrays.stream(ids).mapToObj(i -> "w" + i).collect(Collectors.joining(" ")), lines[1]);
    }

    /** The tiny Llama with a q_proj/v_proj adapter: the adapter directory and the library's outputs. */
    private record Adapted(Path adapter, float[] lastLogits, float[] baseLogits, long[] greedy) {}

    private Adapted adapted(Path model, String baseName, long[] prompt) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(model, m);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray ids = m.create(prompt, new Shape(1, prompt.length));
            float[] base = lm.forward(ps, ids, null, null, null, false, 1).logits().toFloatArray();
            PeftModel<?> peft = PeftModel.wrap(lm, TestAdapters.qv(baseName), m);
            TestAdapters.randomizeB(peft, 42, 0.5f, m);
            Path adapter = TestAdapters.save(peft, dir.resolve("adapter"));
            NDArray logits = peft.forward(ps, new NDList(ids), false).singletonOrThrow();
            float[] last = logits.get(new NDIndex(":, -1, :")).toFloatArray();
            long[] greedy = new Generator(lm)
                    .generate(m, prompt, GenerationConfig.builder().setMaxNewTokens(6).build()).tokens();
            return new Adapted(adapter, last, base, greedy);
        }
    }

    @Test
    void adapterChangesLogitsAsTheLibraryDoes() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        long[] prompt = {1, 5, 77, 30};
        Adapted a = adapted(model, null, prompt);
        CliRun r = CliRun.of(new LogitsCommand(), "--model", model.toString(), "--adapter", a.adapter().toString(),
                "--ids", "1,5,77,30");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        float[] got = MAPPER.readValue(r.out(), float[].class);
        double err = 0;
        double change = 0;
        for (int v = 0; v < got.length; v++) {
            err = Math.max(err, Math.abs(got[v] - a.lastLogits()[v]));
            change = Math.max(change, Math.abs(got[v] - a.baseLogits()[v]));
        }
        System.out.printf(Locale.ROOT, "logits --adapter: max abs error vs PeftModel %.2e, change vs base %.3f%n",
                err, change);
        assertTrue(err <= 1e-5, "differs from the library by " + err);
        assertTrue(change > 0.05, "the adapter changes the logits by only " + change);
    }

    @Test
    void generateWithAdapterFollowsTheAdaptedModel() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        long[] prompt = {1, 5, 77};
        Adapted a = adapted(model, "org/tiny-llama", prompt);
        CliRun r = CliRun.of(new GenerateCommand(), "--model", model.toString(), "--adapter", a.adapter().toString(),
                "--ids", "1,5,77", "--max-new-tokens", "6");
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(a.greedy(), MAPPER.readValue(r.out(), long[].class));
        assertEquals("warning: adapter " + a.adapter() + " was trained on 'org/tiny-llama' but --model is '"
                + model + "'; loading it anyway", r.err().strip());
    }

    @Test
    void adapterThatDoesNotFitFailsNamingFileAndTensor() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path minilm = Fixtures.fixture("peft-minilm-qv");
        CliRun r = CliRun.of(new LogitsCommand(), "--model", model.toString(), "--adapter", minilm.toString(), "--ids", "1");
        assertEquals(1, r.code());
        List<String> lines = r.err().lines().toList();
        assertEquals(2, lines.size(), r.err());
        assertEquals("warning: adapter " + minilm + " was trained on 'sentence-transformers/all-MiniLM-L6-v2' but"
                + " --model is '" + model + "'; loading it anyway", lines.get(0));
        assertTrue(lines.get(1).startsWith("error: " + minilm.resolve("adapter_config.json")
                + ": target_modules [query, value] matched no module of LlamaForCausalLM; it has 15 linear"
                + " modules, e.g. model.layers.0.self_attn.q_proj"), r.err());
        assertEquals("", r.out());

        Path adapter = adapted(model, "llama-bf16", new long[] {1}).adapter();
        ObjectNode cfg = (ObjectNode) MAPPER.readTree(adapter.resolve("adapter_config.json").toFile());
        cfg.put("r", 8);
        MAPPER.writeValue(adapter.resolve("adapter_config.json").toFile(), cfg);
        r = CliRun.of(new LogitsCommand(), "--model", model.toString(), "--adapter", adapter.toString(), "--ids", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: adapter weights in " + adapter.resolve("adapter_model.safetensors")
                + " do not match: tensor base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight has shape"
                + " (4, 32) but the model expects (8, 32)"), r.err());

        Path missing = dir.resolve("missing");
        r = CliRun.of(new GenerateCommand(), "--model", model.toString(), "--adapter", missing.toString(), "--ids", "1",
                "--max-new-tokens", "1");
        assertEquals(1, r.code());
        assertEquals("error: " + missing + ": --adapter must be an adapter directory (PEFT:"
                + " adapter_config.json + adapter_model.safetensors; AdapterHub: adapter_config.json +"
                + " adapter.safetensors)", r.err().strip());
        r = CliRun.of(new LogitsCommand(), "--model", model.toString(), "--adapter", dir.toString(), "--ids", "1");
        assertEquals("error: " + dir.resolve("adapter_config.json") + ": the adapter directory has no"
                + " adapter_config.json", r.err().strip());
    }

    @Test
    void errorsAreOneLineWithExitCodeOne() {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        CliRun badId = CliRun.of(new LogitsCommand(), "--model", model.toString(), "--ids", "1,128");
        assertEquals(1, badId.code());
        assertEquals("error: token id 128 is outside the vocabulary [0, 128) of " + model, badId.err().strip());

        CliRun noModel = CliRun.of(new LogitsCommand(), "--model", dir.toString(), "--ids", "1");
        assertEquals(1, noModel.code());
        assertEquals("error: no config.json at " + dir.resolve("config.json"), noModel.err().strip());

        CliRun badTemp = CliRun.of(new GenerateCommand(), "--model", model.toString(), "--ids", "1",
                "--max-new-tokens", "2", "--temperature", "-1");
        assertEquals(1, badTemp.code());
        assertEquals("error: GenerationConfig: temperature must be >= 0 and finite, got -1.0", badTemp.err().strip());

        CliRun usage = CliRun.of(new GenerateCommand(), "--model", model.toString(), "--ids", "1,x");
        assertEquals(2, usage.code());
        assertTrue(usage.err().contains("--max-new-tokens") || usage.err().contains("'x'"), usage.err());
    }

    @Test
    void helpDescribesOptions() {
        CliRun r = CliRun.of(new GenerateCommand(), "--help");
        assertEquals(0, r.code());
        for (String option : new String[] {"--model", "--adapter", "--ids", "--max-new-tokens", "--temperature",
            "--top-k", "--top-p", "--seed"}) {
            assertTrue(r.out().contains(option), option + " in " + r.out());
        }
        assertTrue(CliRun.of(new LogitsCommand(), "--help").out().contains("Usage: logits"));
    }
}
