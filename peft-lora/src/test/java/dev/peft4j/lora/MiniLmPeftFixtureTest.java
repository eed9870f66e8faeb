package dev.peft4j.lora;

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
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Python PEFT's MiniLM adapter ({@code peft-minilm-qv}: r=2, alpha 4, query/value) on {@code
 * builtin:all-minilm-l6-v2} reproduces the fixture's adapted mean-pooled embeddings; with adapters
 * disabled, the base ones; merged and unloaded, the adapted ones again.
 */
class MiniLmPeftFixtureTest {

    static final double TOLERANCE = 1e-4;

    private static BertModel minilm(NDManager m) throws Exception {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        try (TensorSource weights = builtin.openWeights()) {
            return BertModel.load(weights, HfConfig.of(builtin.config(), builtin.id()), m);
        }
    }

    private static double maxError(BertModel model, JsonNode sentences, String field, NDManager m) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ParameterStore ps = new ParameterStore(m, false);
        double err = 0;
        for (JsonNode s : sentences) {
            long[] ids = json.treeToValue(s.get("ids"), long[].class);
            double[] expected = json.treeToValue(s.get(field), double[].class);
            try (NDManager scope = m.newSubManager()) {
                NDArray x = scope.create(new long[][] {ids});
                float[] e = model.embed(ps, x, scope.ones(x.getShape())).toFloatArray();
                assertEquals(expected.length, e.length);
                for (int i = 0; i < e.length; i++) {
                    err = Math.max(err, Math.abs(e[i] - expected[i]));
                }
            }
        }
        return err;
    }

    @Test
    void reproducesPythonPeftEmbeddings() throws Exception {
        Path dir = Fixtures.fixture("peft-minilm-qv");
        JsonNode exp = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
        JsonNode sentences = exp.get("sentences");
        try (NDManager m = NDManager.newBaseManager()) {
            BertModel bert = minilm(m);
            PeftModel<?> peft = PeftModel.load(bert, dir, m);
            assertEquals(12, LoraAdapters.loraLayers(peft).size());
            assertEquals(exp.get("scaling").asDouble(),
                    LoraAdapters.loraLayers(peft).get("encoder.layer.0.attention.self.query").settings("default").scaling());
            double adapted = maxError(bert, sentences, "mean_pooled", m);
            double base;
            try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
                base = maxError(bert, sentences, "base_mean_pooled", m);
            }
            Module merged = peft.mergeAndUnload(true);
            double afterMerge = maxError((BertModel) merged, sentences, "mean_pooled", m);
            System.out.printf(Locale.ROOT, "peft-minilm-qv: adapted %.2e, disabled vs base %.2e, merged %.2e%n",
                    adapted, base, afterMerge);
            assertTrue(adapted <= TOLERANCE, "adapted embeddings differ by " + adapted);
            assertTrue(base <= TOLERANCE, "base embeddings differ by " + base);
            assertTrue(afterMerge <= TOLERANCE, "merged embeddings differ by " + afterMerge);
        }
    }
}
