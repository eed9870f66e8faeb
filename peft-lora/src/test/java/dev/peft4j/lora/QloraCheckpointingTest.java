package dev.peft4j.lora;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.CheckpointedGradients;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLlama;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;
import java.util.Random;

import static dev.peft4j.core.testing.CheckpointedGradients.absSum;
import static dev.peft4j.core.testing.CheckpointedGradients.relativeDiff;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradient checkpointing of a 4-bit Llama: the recomputed 4-bit layers give their input gradients
 * through {@code FrozenLinearTape} (no dequantized weight kept by autograd), and the adapter
 * gradients equal those of the plain run within float round-off.
 */
class QloraCheckpointingTest {

    @Test
    void adapterGradientsEqualThePlainRun() throws IOException {
        // lora on q, v and down; k, o, gate, up stay plain 4-bit layers (recorded on the tape too; o_proj
        // is skipped in the recomputation, down_proj recomputed through its adapter)
        assertSameGradients("q_proj", "v_proj", "down_proj");
    }

    @Test
    void bothOutputProjectionsSkippedOverA4BitBase() throws IOException {
        // o_proj and down_proj are plain 4-bit layers: the recomputation gets dy·dequant(W) from them unrun
        assertSameGradients("q_proj", "v_proj");
    }

    private static void assertSameGradients(String... targets) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            QuantizationConfig nf4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).build();
            LlamaForCausalLM lm = QuantizedLlama.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), nf4, m);
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, LoraConfig.builder()
                    .setTargetModules(targets).optR(4).optLoraAlpha(8).optLoraDropout(0.2)
                    .build(), m, 1);
            Random random = new Random(3);
            for (LoraLinear l : LoraAdapters.loraLayers(peft).values()) {
                var b = l.loraB(PeftModel.DEFAULT_ADAPTER).parameter("weight");
                Shape shape = b.getArray().getShape();
                float[] v = new float[(int) shape.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) random.nextGaussian() * 0.2f;
                }
                Params.assign(b, m.create(v, shape));
            }
            CheckpointedGradients.Loss loss = LoraCheckpointingTest.tinyLlamaLoss(lm);
            Map<String, float[]> plain = CheckpointedGradients.of(peft, loss, false, 9);
            Map<String, float[]> checkpointed = CheckpointedGradients.of(peft, loss, true, 9);
            double diff = relativeDiff(plain, checkpointed);
            assertTrue(diff < 1e-5, "diff " + diff);
            for (String target : targets) {
                // layer 1 (also recomputed over a 4-bit base) for the MLP's adapter
                String path = target.equals("down_proj") ? "model.layers.1.mlp.down_proj.lora_A.default.weight"
                        : "model.layers.0.self_attn." + target + ".lora_A.default.weight";
                String key = checkpointed.keySet().stream().filter(k -> k.endsWith(path)).findFirst()
                        .orElseThrow(() -> new AssertionError(path + " not in " + checkpointed.keySet()));
                // reaching layer 0's q_proj from the loss needs every input gradient of the 4-bit layers above it
                assertTrue(absSum(checkpointed, key) > 0, path);
            }
            assertTrue(relativeDiff(plain, CheckpointedGradients.of(peft, loss, false, 10)) > 1e-2,
                    "LoRA dropout changes the gradients");
        }
    }
}
