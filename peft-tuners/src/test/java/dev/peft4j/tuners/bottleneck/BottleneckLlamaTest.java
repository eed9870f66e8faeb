package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bottleneck adapters on the tiny Llama fixture, at AdapterHub's Llama sites ({@code
 * model.layers.<i>.attention_adapters} / {@code output_adapters}, modules added by the method):
 * forward as AdapterHub's formula, save keys, and training.
 */
class BottleneckLlamaTest {

    private static final long[] IDS = {1, 5, 9, 3, 17, 2};

    private static LlamaForCausalLM load(NDManager m) throws IOException {
        return LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
    }

    private static float[] logits(LlamaForCausalLM lm, NDManager m) {
        try (NDManager s = m.newSubManager()) {
            NDArray ids = s.create(IDS).expandDims(0);
            return lm.forward(new ParameterStore(s, false), ids, null, null, null, false).logits().toFloatArray();
        }
    }

    /**
     * Houlsby on Llama: the layer computes {@code r + h + f(h)} at both sites (no post-LN): the
     * same logits as test-only hooks with that formula over the adapter's own weights.
     */
    @Test
    void doubleSeqBnSitsAtAdapterHubsLlamaSitesAndComputesItsFormula(@TempDir Path dir) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = load(m);
            float[] base = logits(lm, m);
            int layers = lm.config().numHiddenLayers();
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, BottleneckConfig.doubleSeqBn().optReductionFactor(4).build(), m, 7);
            assertEquals(2 * layers, peft.targetPaths("default").size());
            assertEquals("model.layers.0.attention_adapters.adapters.default", peft.targetPaths("default").get(0));
            int hidden = lm.config().hiddenSize();
            Linear down = (Linear) lm.getModule("model.layers.0.output_adapters.adapters.default.adapter_down.0");
            assertEquals(hidden / 4, down.outFeatures());
            // per site: down (H*m + m) + up (m*H + H)
            long perSite = 2L * hidden * (hidden / 4) + hidden / 4 + hidden;
            assertEquals(2 * layers * perSite, peft.trainableParameters().trainable());
            float[] adapted = logits(lm, m);
            assertTrue(maxAbsDiff(adapted, toDouble(base)) > 1e-4, "a bert-init adapter moves the logits");

            // the same formula by hand, as hooks over the adapters' weights
            Map<ResidualSite, BottleneckAdapter> byHand = new LinkedHashMap<>();
            for (ResidualSite s : lm.hooks().residualSites()) {
                byHand.put(s, (BottleneckAdapter) lm.getModule(s.path() + ".adapters.default"));
            }
            try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
                assertArrayEquals(base, logits(lm, m), 0f, "disabled: the base");
                byHand.forEach((s, a) -> s.setHook((ps, r, training) -> {
                    NDArray h = r.output();
                    NDArray f = a.upProjection().forward(ps, silu(a.downProjection().forward(ps, h, false)), false);
                    return r.residual().add(h).add(f);
                }));
                assertTrue(maxAbsDiff(logits(lm, m), toDouble(adapted)) < 1e-5);
                byHand.keySet().forEach(s -> s.setHook(null));
            }
            assertArrayEquals(adapted, logits(lm, m), 0f);

            peft.save(dir);
            try (TensorSource src = TensorSources.open(dir.resolve("adapter.safetensors"))) {
                TreeSet<String> keys = new TreeSet<>(src.names());
                assertEquals(8 * layers, keys.size());
                assertTrue(keys.contains("model.layers.0.attention_adapters.adapters.default.adapter_down.0.weight"), keys.first());
                assertTrue(keys.contains("model.layers." + (layers - 1) + ".output_adapters.adapters.default.adapter_up.bias"));
            }
            try (NDManager m2 = NDManager.newBaseManager()) {
                LlamaForCausalLM fresh = load(m2);
                PeftModel.load(fresh, dir, m2);
                assertArrayEquals(adapted, logits(fresh, m2), 0f, "reloaded");
            }

            LlamaForCausalLM plain = peft.unload();
            assertArrayEquals(base, logits(plain, m), 0f);
            assertFalse(plain.namedModules().containsKey("model.layers.0.attention_adapters"), "the added site is gone");
        }
    }

    /** A mam_adapter (zero up projection) ParBn starts as the identity; FineTuner steps train only the adapter. */
    @Test
    void parallelAdapterStartsAsTheBaseAndTrainsOnlyItself() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = load(m);
            float[] base = logits(lm, m);
            Map<String, float[]> before = new LinkedHashMap<>();
            lm.namedParameters().forEach((k, p) -> before.put(k, p.getArray().toFloatArray()));
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, BottleneckConfig.parBn().build(), m, 3);
            assertArrayEquals(base, logits(lm, m), 0f, "mam_adapter: adapter_up is zero");
            TrainingResult r = FineTuner.builder().setModel(peft)
                    .setTrainData(List.of(Map.of("input_ids", List.of(1, 5, 9, 3, 2)),
                            Map.of("input_ids", List.of(1, 7, 7, 2)), Map.of("input_ids", List.of(1, 4, 2))))
                    .optArguments(TrainingArguments.builder().optBatchSize(2).optMaxSteps(3).optLearningRate(1e-2)
                            .optSeed(3).build())
                    .build().fit();
            assertEquals(3, r.finalStep());
            lm.namedParameters().forEach((k, p) -> {
                if (before.containsKey(k)) {
                    assertArrayEquals(before.get(k), p.getArray().toFloatArray(), 0f, k + " is frozen");
                }
            });
            float[] up = lm.getModule("model.layers.0.output_adapters.adapters.default.adapter_up")
                    .namedParameters().get("weight").getArray().toFloatArray();
            assertTrue(maxAbs(up) > 0, "adapter_up moved from zero");
            assertTrue(maxAbsDiff(logits(lm, m), toDouble(base)) > 1e-6, "the trained adapter changes the logits");
        }
    }

    private static NDArray silu(NDArray x) {
        return x.mul(ai.djl.nn.Activation.sigmoid(x));
    }

    static double maxAbs(float[] v) {
        double worst = 0;
        for (float x : v) {
            worst = Math.max(worst, Math.abs(x));
        }
        return worst;
    }

    static double[] toDouble(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
