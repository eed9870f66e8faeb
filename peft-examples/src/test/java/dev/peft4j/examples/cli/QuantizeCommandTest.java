package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.quant.BlockwiseDequantizer;
import dev.peft4j.quant.BlockwiseQuantizer;
import dev.peft4j.quant.QuantStateDict;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.QuantizedTensor;
import dev.peft4j.quant.nn.HfQuantizationConfig;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLoadReport;
import dev.peft4j.quant.nn.QuantizedLoader;
import dev.peft4j.quant.nn.Quantizer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** {@code quantize} and {@code dequantize}: round trip on the sharded Qwen2 fixture, errors. */
class QuantizeCommandTest {

    @TempDir Path dir;

    private record Run(int code, String out, String err) {}

    /** Runs the tool through its root command, where both commands are registered. */
    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new Peft4jCli());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static byte[] bytes(TensorSource s, String name) throws IOException {
        ByteBuffer b = s.rawBytes(name);
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    @Test
    void roundTripOnShardedFixture() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        Path q4 = dir.resolve("q4");
        Run r = run("quantize", "--in", model.toString(), "--out", q4.toString());
        assertEquals(0, r.code(), r.err());
        // 2 layers x (q, k, v, o, gate, up, down); embed_tokens skipped by default
        assertEquals("quantized 14 tensors to nf4 (blocksize 64, double quant true): " + q4 + "\n",
                r.out());
        try (Stream<Path> s = Files.list(q4)) {
            assertEquals(
                    List.of("config.json", "model-00001-of-00002.safetensors",
                            "model-00002-of-00002.safetensors", "model.safetensors.index.json"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode original = json.readTree(model.resolve("config.json").toFile());
        ObjectNode quantConfig = (ObjectNode) json.readTree(q4.resolve("config.json").toFile());
        assertEquals(json.readTree("""
                {"_load_in_4bit": true, "_load_in_8bit": false,
                 "bnb_4bit_compute_dtype": "float32", "bnb_4bit_quant_storage": "uint8",
                 "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true,
                 "llm_int8_enable_fp32_cpu_offload": false, "llm_int8_has_fp16_weight": false,
                 "llm_int8_skip_modules": ["lm_head", "model.embed_tokens"], "llm_int8_threshold": 6.0,
                 "load_in_4bit": true, "load_in_8bit": false, "quant_method": "bitsandbytes"}
                """), quantConfig.remove(HfQuantizationConfig.KEY));
        assertEquals(original, quantConfig, "config.json otherwise unchanged");
        Path dense = dir.resolve("dense");
        Run d = run("dequantize", "--in", q4.toString(), "--out", dense.toString());
        assertEquals(0, d.code(), d.err());
        assertEquals("dequantized 14 tensors to float32: " + dense + "\n", d.out());
        assertEquals(original, json.readTree(dense.resolve("config.json").toFile()), "quantization_config removed");
        assertQuantizedDirectoryLoads(q4, dense);

        BlockwiseQuantizer nf4 =
                BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).optDoubleQuant(true).build();
        try (TensorSource src = TensorSources.open(model);
                TensorSource quant = TensorSources.open(q4);
                TensorSource back = TensorSources.open(dense)) {
            assertEquals(src.names().stream().sorted().toList(), back.names().stream().sorted().toList());
            int quantized = 0;
            for (String name : src.names()) {
                if (QuantStateDict.isQuantized(name, quant.names())) {
                    quantized++;
                    QuantizedTensor want = nf4.quantize(src.loadFloats(name), src.info(name).shape());
                    assertEquals(want, QuantStateDict.read(name, quant), name);
                    assertEquals(DType.F32, back.info(name).dtype());
                    assertArrayEquals(src.info(name).shape(), back.info(name).shape(), name);
                    assertArrayEquals(BlockwiseDequantizer.dequantize(want), back.loadFloats(name), name);
                } else {
                    assertArrayEquals(bytes(src, name), bytes(back, name), name);
                    assertArrayEquals(bytes(src, name), bytes(quant, name), name);
                }
            }
            assertEquals(14, quantized);
            assertTrue(quant.contains("model.layers.1.mlp.down_proj.weight.nested_absmax"));
            assertFalse(quant.contains("model.embed_tokens.weight.absmax"));
        }
        Run inspect = run("inspect", q4.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(
                inspect.out().matches(
                        "(?s).*\\nmodel\\.layers\\.0\\.self_attn\\.q_proj\\.weight +U8 +\\[512, 1]\\n.*"),
                inspect.out());
    }

    @Test
    void singleFileFp4WithoutDoubleQuant() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16", "model.safetensors");
        Path out = dir.resolve("fp4.safetensors");
        Run r = run("quantize", "--in", model.toString(), "--out", out.toString(),
                "--quant-type", "FP4", "--blocksize", "32", "--no-double-quant", "--skip", "embed|mlp");
        assertEquals(0, r.code(), r.err());
        BlockwiseQuantizer fp4 =
                BlockwiseQuantizer.builder().setQuantType(QuantType.FP4).optBlocksize(32)
                        .optDtype("bfloat16").build();
        try (TensorSource src = TensorSources.open(model); TensorSource q = TensorSources.open(out)) {
            String name = "model.layers.0.self_attn.o_proj.weight";
            assertEquals(fp4.quantize(src.loadFloats(name), src.info(name).shape()),
                    QuantStateDict.read(name, q));
            assertFalse(q.contains(name + ".nested_absmax"));
            String mlp = "model.layers.0.mlp.up_proj.weight";
            assertEquals(DType.BF16, q.info(mlp).dtype());
            assertArrayEquals(bytes(src, mlp), bytes(q, mlp));
        }
    }

    @Test
    void badInputsExitWithOneAndAClearMessage() throws IOException {
        Path missing = dir.resolve("nope");
        Run r = run("quantize", "--in", missing.toString(), "--out", dir.resolve("o").toString());
        assertEquals(1, r.code());
        assertEquals("error: no such file or directory: " + missing + "\n", r.err());

        Path model = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        Path full = Files.createDirectory(dir.resolve("full"));
        Files.writeString(full.resolve("x"), "x");
        r = run("quantize", "--in", model.toString(), "--out", full.toString());
        assertEquals(1, r.code());
        assertEquals("error: " + full + ": the output directory exists and is not empty\n", r.err());

        r = run("quantize", "--in", model.toString(), "--out", dir.resolve("o").toString(),
                "--blocksize", "48");
        assertEquals(1, r.code());
        assertEquals(
                "error: blocksize must be one of 32, 64, 128, 256, 512, 1024, 2048, 4096, got 48\n",
                r.err());
        r = run("quantize", "--in", model.toString(), "--out", dir.resolve("o").toString(),
                "--quant-type", "int8");
        assertEquals(1, r.code());
        assertEquals("error: unknown quant_type 'int8' (supported: nf4, fp4)\n", r.err());
        assertFalse(Files.exists(dir.resolve("o")));

        Path q4 = dir.resolve("q4");
        assertEquals(0, run("quantize", "--in", model.toString(), "--out", q4.toString()).code());
        r = run("quantize", "--in", q4.toString(), "--out", dir.resolve("again").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: " + q4.resolve("model-00001-of-00002.safetensors")
                + ": tensor 'model.layers.0."), r.err());
        assertTrue(r.err().endsWith("': the checkpoint is already quantized\n"), r.err());
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")),
                    "temporary directory removed");
        }

        Path text = Files.writeString(dir.resolve("notes.txt"), "hello");
        r = run("dequantize", "--in", text.toString(), "--out", dir.resolve("d").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: " + text), r.err());
    }

    /**
     * The quantized directory loads as transformers would read it: the model from config.json, its
     * quantization settings from quantization_config, the 4-bit tensors as they are; the logits
     * equal those of the dequantized float32 directory.
     */
    private void assertQuantizedDirectoryLoads(Path q4, Path dequantized) throws IOException {
        JsonNode config = new ObjectMapper().readTree(q4.resolve("config.json").toFile());
        QuantizationConfig qc = HfQuantizationConfig.read(config, q4.resolve("config.json").toString());
        assertEquals(List.of("lm_head", "model.embed_tokens"), qc.skipModules());
        try (NDManager m = NDManager.newBaseManager(); TensorSource src = TensorSources.open(q4)) {
            LlamaForCausalLM q = new LlamaForCausalLM(LlamaConfig.read(q4));
            assertEquals(14, Quantizer.quantizeModules(q, qc).size());
            QuantizedLoadReport report = QuantizedLoader.builder().setSource(src).setManager(m)
                    .optIgnore(LlamaForCausalLM.IGNORED).build().load(q);
            assertEquals(0, report.quantized(), "pre-quantized tensors are read, not re-quantized");
            assertEquals(14, report.prequantized());
            LlamaForCausalLM dense = LlamaForCausalLM.load(dequantized, m);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray ids = m.create(new long[] {1, 17, 42, 99}, new Shape(1, 4));
            float[] want = dense.forward(ps, ids, null, null, null, false).logits().toFloatArray();
            float[] got = q.forward(ps, ids, null, null, null, false).logits().toFloatArray();
            double max = 0;
            for (int i = 0; i < want.length; i++) {
                max = Math.max(max, Math.abs(want[i] - got[i]));
            }
            System.out.println("quantized directory vs dequantized float32 model: max abs logit error " + max);
            assertTrue(max < 1e-5, "max abs logit error " + max);
        }
    }
}
