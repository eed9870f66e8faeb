package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PEFT's IA³ adapter for all-MiniLM-L6-v2 ({@code ia3-minilm}: BERT defaults, 4 vectors per layer)
 * reproduces the fixture's mean-pooled embeddings (adapted and base) and its merged tensors.
 */
class Ia3FixtureTest {

    static final double TOLERANCE = 2e-4;

    static BertModel minilm(NDManager m) throws Exception {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        try (TensorSource weights = builtin.openWeights()) {
            return BertModel.load(weights, HfConfig.of(builtin.config(), builtin.id()), m);
        }
    }

    static double maxError(BertModel model, JsonNode sentences, String field, NDManager m) {
        ParameterStore ps = new ParameterStore(m, false);
        double err = 0;
        for (JsonNode s : sentences) {
            long[] ids = new long[s.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = s.get("ids").get(i).asLong();
            }
            try (NDManager scope = m.newSubManager()) {
                NDArray x = scope.create(new long[][] {ids});
                float[] e = model.embed(ps, x, scope.ones(x.getShape())).toFloatArray();
                assertEquals(s.get(field).size(), e.length);
                for (int i = 0; i < e.length; i++) {
                    err = Math.max(err, Math.abs(e[i] - s.get(field).get(i).asDouble()));
                }
            }
        }
        return err;
    }

    @Test
    void reproducesPeftEmbeddingsAndMergedTensors() throws Exception {
        Path dir = Fixtures.fixture("peft-methods", "ia3-minilm");
        JsonNode exp = new ObjectMapper().readTree(Fixtures.fixture("peft-methods", "expected.json").toFile())
                .get("ia3-minilm");
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel bert = minilm(m);
            PeftModel<BertModel> peft = PeftModel.load(bert, dir, m);
            Ia3Config cfg = peft.config("default", Ia3Config.class);
            assertEquals(List.of("key", "value", "output.dense"), cfg.targetModules().names());
            assertTrue(cfg.inferenceMode());
            assertEquals(24, Ia3Adapters.layers(peft).size(), "4 vectors in each of 6 layers");
            assertTrue(Ia3Adapters.layers(peft).get("encoder.layer.0.attention.output.dense").isFeedforward("default"),
                    "output.dense matches attention.output.dense too, as feed-forward");
            assertFalse(Ia3Adapters.layers(peft).get("encoder.layer.0.attention.self.key").isFeedforward("default"));
            assertEquals(0, peft.trainableParameters().trainable(), "loaded in inference mode");

            double adapted = maxError(bert, exp.get("sentences"), "mean", m);
            double base;
            try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
                base = maxError(bert, exp.get("sentences"), "base_mean", m);
            }
            BertModel merged = peft.mergeAndUnload(true);
            double afterMerge = maxError(merged, exp.get("sentences"), "mean", m);
            double worstSum = 0;
            double worstValue = 0;
            var checks = exp.get("merged_checks").fields();
            while (checks.hasNext()) {
                var c = checks.next();
                float[] v = merged.namedParameters().get(c.getKey()).getArray().toFloatArray();
                double sum = 0;
                for (float f : v) {
                    sum += f;
                }
                worstSum = Math.max(worstSum, Math.abs(sum - c.getValue().get("sum").asDouble()));
                for (int i = 0; i < 8; i++) {
                    worstValue = Math.max(worstValue, Math.abs(v[i] - c.getValue().get("first").get(i).asDouble()));
                }
            }
            System.out.printf(Locale.ROOT, "ia3-minilm: adapted %.2e, disabled vs base %.2e, merged %.2e,"
                    + " merged tensors: sum %.2e, values %.2e%n", adapted, base, afterMerge, worstSum, worstValue);
            assertTrue(adapted <= TOLERANCE, "adapted embeddings differ by " + adapted);
            assertTrue(base <= TOLERANCE, "base embeddings differ by " + base);
            assertTrue(afterMerge <= TOLERANCE, "merged embeddings differ by " + afterMerge);
            assertTrue(worstSum <= 1e-3, "merged tensor sums differ by " + worstSum);
            assertTrue(worstValue <= 1e-6, "merged tensor values differ by " + worstValue);
        }
    }
}
