package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code peft4j merge --streaming}: the streamed float32 export is the in-memory export tensor for
 * tensor (plain and QLoRA), the default keeps BF16, {@code --layers} writes one layer, and bad
 * options fail before anything is written.
 */
class MergeStreamingCliTest {

    @TempDir Path dir;

    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    private Path adapter(Path model) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(LlamaForCausalLM.load(model, m), TestAdapters.qv(null), m);
            TestAdapters.randomizeB(peft, 7, 0.5f, m);
            return TestAdapters.save(peft, dir.resolve("adapter"));
        }
    }

    private static void assertSameTensors(Path a, Path b) throws Exception {
        try (TensorSource x = TensorSources.open(a); TensorSource y = TensorSources.open(b)) {
            assertEquals(x.names().stream().sorted().toList(), y.names().stream().sorted().toList());
            for (String n : x.names()) {
                assertEquals(x.info(n).dtype(), y.info(n).dtype(), n);
                assertEquals(x.rawBytes(n), y.rawBytes(n), n);
            }
        }
    }

    @Test
    void streamedFloat32IsTheInMemoryExportAndTheDefaultKeepsBf16() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path adapter = adapter(model);
        String[] base = {"merge", "--model", model.toString(), "--adapter", adapter.toString()};
        for (String[] q : List.of(new String[0], new String[] {"--quantize", "nf4", "--blocksize", "32"})) {
            String tag = q.length == 0 ? "plain" : "nf4";
            Path memory = dir.resolve(tag + "-memory");
            Path streamed = dir.resolve(tag + "-streamed");
            assertEquals(0, run(concat(base, new String[] {"--out", memory.toString()}, q)).code());
            CliRun r = run(concat(base, new String[] {"--out", streamed.toString(), "--dtype", "f32"}, q));
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().startsWith("merged " + adapter + " into " + model + " (streaming"
                    + (q.length == 0 ? "" : ", dequantized NF4 base") + "): " + streamed + " (21 tensors, 4 merged"
                    + (q.length == 0 ? "" : ", 14 dequantized") + ", 1 files, "), r.out());
            assertSameTensors(memory, streamed);
        }

        Path bf16 = dir.resolve("bf16");
        CliRun r = run(concat(base, new String[] {"--out", bf16.toString(), "--streaming"}));
        assertEquals(0, r.code(), r.err());
        try (TensorSource s = TensorSources.open(bf16)) {
            assertEquals(21, s.names().size());
            for (String n : s.names()) {
                assertEquals(DType.BF16, s.info(n).dtype(), n);
            }
        }
        CliRun logits = run("logits", "--model", bf16.toString(), "--ids", "1,5,77");
        assertEquals(0, logits.code(), logits.err());

        Path one = dir.resolve("layer1");
        r = run(concat(base, new String[] {"--out", one.toString(), "--layers", "1", "--max-shard-size", "20KB"}));
        assertEquals(0, r.code(), r.err());
        try (TensorSource s = TensorSources.open(one)) {
            assertEquals(9, s.names().size());
            assertTrue(s.names().stream().allMatch(n -> n.startsWith("model.layers.1.")), s.names().toString());
        }
        assertTrue(Files.exists(one.resolve("model.safetensors.index.json")), "sharded at 20 kB");
    }

    @Test
    void badOptionsFailBeforeWriting() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path adapter = adapter(model);
        Path out = dir.resolve("out");
        String[] base = {"merge", "--model", model.toString(), "--adapter", adapter.toString(), "--out",
            out.toString()};
        CliRun r = run(concat(base, new String[] {"--layers", "0-1,1"}));
        assertEquals(1, r.code());
        assertEquals("error: layer range '1' in '0-1,1' overlaps another range at layer 1\n", r.err());
        r = run(concat(base, new String[] {"--layers", "0-2"}));
        assertEquals("error: layer 2 of '0-2' is out of range: the model has 2 layers (0-1)\n", r.err());
        r = run(concat(base, new String[] {"--tensors", "lm_head.*", "--layers", "0"}));
        assertEquals("error: the selection (layers 0, tensors lm_head.*) matches no tensor of " + model
                + "/model.safetensors\n", r.err());
        r = run(concat(base, new String[] {"--dtype", "int8"}));
        assertEquals("error: unknown output dtype 'int8' (base, f32, bf16, f16)\n", r.err());
        r = run(concat(base, new String[] {"--max-shard-size", "0GB"}));
        assertEquals("error: --max-shard-size: invalid size '0GB' (a positive number with GB, MB, KB or no unit)\n",
                r.err());
        r = run("merge", "--model", "builtin:all-minilm-l6-v2", "--adapter", adapter.toString(), "--out",
                out.toString(), "--streaming");
        assertEquals("error: --streaming reads a model directory, not builtin:all-minilm-l6-v2 (merge it without"
                + " --streaming)\n", r.err());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "temporary directory removed");
        }
    }

    private static String[] concat(String[]... parts) {
        return Stream.of(parts).flatMap(Stream::of).toArray(String[]::new);
    }
}
