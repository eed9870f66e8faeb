package dev.peft4j.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.quant.QuantType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** NF4 quantize-on-load of the sharded Qwen2 fixture through the Llama-family model. */
class QuantizedQwen2Test {

    private static final List<String> PROJECTIONS =
            List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    @Test
    void nf4LogitsCloseToFloat32() throws IOException {
        Path dir = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM dense = LlamaForCausalLM.load(dir, m);
            LlamaForCausalLM q = new LlamaForCausalLM(LlamaConfig.read(dir));
            List<String> replaced =
                    Quantizer.quantizeModules(
                            q, QuantizationConfig.builder().setQuantType(QuantType.NF4).build());
            assertEquals(14, replaced.size(), replaced.toString());
            QuantizedLoadReport report;
            try (TensorSource src = TensorSources.open(dir)) {
                report = QuantizedLoader.builder()
                        .setSource(src)
                        .setManager(m)
                        .optIgnore(LlamaForCausalLM.IGNORED)
                        .build()
                        .load(q);
            }
            assertEquals(14, report.quantized());
            assertTrue(report.peakWithinBudget(), report.summary());
            for (int layer = 0; layer < 2; layer++) {
                for (String p : PROJECTIONS) {
                    assertInstanceOf(Linear4bit.class, q.getModule("model.layers." + layer + "." + p));
                }
            }
            for (Map.Entry<String, Module> e : q.namedModules().entrySet()) {
                if (e.getKey().contains("embed") || e.getKey().equals("lm_head")) {
                    assertFalse(e.getValue() instanceof Linear4bit, e.getKey());
                }
            }
            assertEquals(dense.parameterCount(), q.parameterCount(), "logical parameter count");

            NDArray ids = m.create(new long[] {1, 17, 42, 99, 5, 3, 64, 2}, new Shape(1, 8));
            ParameterStore ps = new ParameterStore(m, false);
            float[] want = dense.forward(ps, ids, null, null, null, false).logits().toFloatArray();
            float[] got = q.forward(ps, ids, null, null, null, false).logits().toFloatArray();
            double err = 0;
            double norm = 0;
            for (int i = 0; i < want.length; i++) {
                err += (want[i] - got[i]) * (double) (want[i] - got[i]);
                norm += want[i] * (double) want[i];
            }
            double rel = Math.sqrt(err / norm);
            System.out.println("qwen2 NF4 relative logits error " + rel);
            // loose: the fixture's random weights are tiny matrices (rows of 32), measured 0.31
            assertTrue(rel > 1e-3 && rel < 0.5, "relative logits error " + rel);

            // the error is all quantization: the F32 model over the dequantized weights agrees
            for (String path : replaced) {
                Linear4bit l4 = (Linear4bit) q.getModule(path);
                Params.assign(((Linear) dense.getModule(path)).parameter("weight"), l4.denseWeight(m));
            }
            float[] same = dense.forward(ps, ids, null, null, null, false).logits().toFloatArray();
            for (int i = 0; i < same.length; i++) {
                assertEquals(same[i], got[i], 1e-5f * (1 + Math.abs(same[i])), "logit " + i);
            }
        }
    }
    @Test
    void quantizedLlamaStreamsInAndReadsSavedDirectoriesAsSaved(@TempDir Path tmp) throws IOException {
        Path dir = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        QuantizationConfig fp4 = QuantizationConfig.builder().setQuantType(QuantType.FP4).optBlocksize(32).build();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray ids = m.create(new long[] {1, 17, 42, 99, 5}, new Shape(1, 5));
            ParameterStore ps = new ParameterStore(m, false);
            LlamaForCausalLM q = QuantizedLlama.load(dir, fp4, m);
            assertEquals(14, q.namedModules().values().stream().filter(x -> x instanceof Linear4bit).count());
            float[] want = q.forward(ps, ids, null, null, null, false).logits().toFloatArray();

            Path saved = tmp.resolve("fp4");
            QuantizedSaver.saveModelDir(q, HfConfig.read(dir).json(), fp4, saved, Function.identity());
            assertTrue(QuantizedLlama.isPrequantized(saved));
            assertFalse(QuantizedLlama.isPrequantized(dir));
            LlamaForCausalLM back = QuantizedLlama.load(saved, null, m);
            assertEquals(32, ((Linear4bit) back.getModule("model.layers.1.mlp.up_proj")).quantState().blocksize());
            assertArrayEquals(want, back.forward(ps, ids, null, null, null, false).logits().toFloatArray());

            ConfigException twice = assertThrows(ConfigException.class, () -> QuantizedLlama.load(saved, fp4, m));
            assertEquals(saved.resolve("config.json") + ": the model is saved quantized (quantization_config: fp4)"
                    + " and loads as it is; quantizing it again (fp4) is not possible", twice.getMessage());
            ConfigException none = assertThrows(ConfigException.class, () -> QuantizedLlama.load(dir, null, m));
            assertEquals(dir.resolve("config.json") + ": the model is not quantized and no quantization config was"
                    + " given", none.getMessage());
        }
    }
}
