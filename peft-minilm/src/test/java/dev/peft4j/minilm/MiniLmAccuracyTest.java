package dev.peft4j.minilm;

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
import dev.peft4j.core.model.bert.BertModelOutput;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.text.TokenizedBatch;
import dev.peft4j.core.text.TokenizedText;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BertModel} on {@code builtin:all-minilm-l6-v2} against ONNX Runtime running the very ONNX
 * model the weights come from, and against the shared fixture's float64 reference embeddings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MiniLmAccuracyTest {

    static final double TOLERANCE = 1e-4;

    static final List<String> SENTENCES = List.of(
            "This tea is wonderful.",
            "The package arrived broken and the cookies were stale.",
            "Great coffee!",
            "I would not buy this brand of dog food again: my dog refused to eat it after two days.",
            "Okay.");

    private NDManager manager;
    private BertModel model;
    private TextTokenizer tokenizer;
    private OnnxReference onnx;

    @BeforeAll
    void load() throws IOException {
        manager = NDManager.newBaseManager();
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        try (TensorSource weights = builtin.openWeights()) {
            model = BertModel.load(weights, HfConfig.of(builtin.config(), builtin.id()), manager);
        }
        tokenizer = TextTokenizer.builder().setTokenizerJson(builtin.tokenizerJson(), builtin.id())
                .setMaxLength(256).build();
        onnx = OnnxReference.allMiniLmL6V2();
    }

    @AfterAll
    void close() throws IOException {
        if (onnx != null) {
            onnx.close();
        }
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (manager != null) {
            manager.close();
        }
    }

    @Test
    void loadsEveryTensorWithPooler() {
        assertTrue(model.loadReport().isClean(), model.loadReport().summary());
        assertEquals(5 + 6 * 16 + 2, model.loadReport().loaded());
        assertTrue(model.hasPooler());
        assertEquals(22_713_216L, model.parameterCount());
    }

    /**
     * Each sentence alone, then all five as one right-padded batch: DJL and ONNX Runtime agree on
     * the last hidden state, the pooler output and the mean-pooled embedding, and the padded batch
     * gives each sentence's own results on its real positions.
     */
    @Test
    void matchesOnnxRuntimeAloneAndInAPaddedBatch() throws IOException {
        ParameterStore ps = new ParameterStore(manager, false);
        TokenizedBatch batch = tokenizer.encodeBatch(SENTENCES);
        int[] lengths = batch.lengths();
        assertTrue(lengths[3] > 2 * lengths[2], "the batch must be padded substantially");
        double hiddenErr = 0;
        double pooledErr = 0;
        double meanErr = 0;
        double batchVsAlone = 0;
        List<float[][]> alone = new ArrayList<>();
        try (NDManager scope = manager.newSubManager()) {
            for (String s : SENTENCES) {
                TokenizedText t = tokenizer.encode(s);
                long[][] ids = {t.ids()};
                long[][] mask = {t.attentionMask()};
                long[][] types = {t.typeIds()};
                OnnxReference.Outputs ref = onnx.run(ids, mask, types);
                BertModelOutput out = model.forward(ps, scope.create(ids), scope.create(mask),
                        scope.create(types), false);
                float[][] hidden = rows(out.lastHiddenState(), 0, t.length());
                alone.add(hidden);
                hiddenErr = Math.max(hiddenErr, maxAbsDiff(hidden, ref.lastHiddenState()[0]));
                pooledErr = Math.max(pooledErr, maxAbsDiff(out.pooledOutput().toFloatArray(), ref.poolerOutput()[0]));
                double[] refMean = OnnxReference.meanPool(ref.lastHiddenState(), mask)[0];
                float[] mean = model.embed(ps, scope.create(ids), scope.create(mask)).toFloatArray();
                meanErr = Math.max(meanErr, maxAbsDiff(mean, refMean));
            }

            OnnxReference.Outputs ref = onnx.run(batch.ids(), batch.attentionMask(), batch.typeIds());
            NDArray mask = batch.attentionMaskArray(scope);
            BertModelOutput out = model.forward(ps, batch.idsArray(scope), mask, batch.typeIdsArray(scope), false);
            float[] means = Pooling.MEAN.pool(out, mask).toFloatArray();
            double[][] refMeans = OnnxReference.meanPool(ref.lastHiddenState(), batch.attentionMask());
            float[] pooled = out.pooledOutput().toFloatArray();
            for (int i = 0; i < SENTENCES.size(); i++) {
                float[][] hidden = rows(out.lastHiddenState(), i, lengths[i]);
                float[][] refHidden = java.util.Arrays.copyOf(ref.lastHiddenState()[i], lengths[i]);
                hiddenErr = Math.max(hiddenErr, maxAbsDiff(hidden, refHidden));
                batchVsAlone = Math.max(batchVsAlone, maxAbsDiff(hidden, alone.get(i)));
                meanErr = Math.max(meanErr, maxAbsDiff(java.util.Arrays.copyOfRange(means, i * 384, (i + 1) * 384),
                        refMeans[i]));
                pooledErr = Math.max(pooledErr, maxAbsDiff(java.util.Arrays.copyOfRange(pooled, i * 384, (i + 1) * 384),
                        ref.poolerOutput()[i]));
            }
        }
        System.out.printf(Locale.ROOT, "MiniLM vs ONNX Runtime: last_hidden_state %.2e, pooler %.2e, mean-pooled %.2e;"
                + " padded batch vs alone %.2e%n", hiddenErr, pooledErr, meanErr, batchVsAlone);
        assertTrue(hiddenErr <= TOLERANCE, "last hidden state differs by " + hiddenErr);
        assertTrue(pooledErr <= TOLERANCE, "pooler output differs by " + pooledErr);
        assertTrue(meanErr <= TOLERANCE, "mean-pooled embedding differs by " + meanErr);
        assertTrue(batchVsAlone <= TOLERANCE, "padded batch differs from single sentences by " + batchVsAlone);
    }

    /** The fixture's float64 reference embeddings of the base model, from the fixture's token ids. */
    @Test
    void matchesTheFixturesBaseEmbeddings() throws IOException {
        JsonNode sentences = new ObjectMapper()
                .readTree(Fixtures.fixture("peft-minilm-qv", "expected.json").toFile()).get("sentences");
        ParameterStore ps = new ParameterStore(manager, false);
        double err = 0;
        for (JsonNode s : sentences) {
            long[] ids = new ObjectMapper().treeToValue(s.get("ids"), long[].class);
            double[] expected = new ObjectMapper().treeToValue(s.get("base_mean_pooled"), double[].class);
            assertArrayEquals(ids, tokenizer.encode(s.get("text").asText()).ids(), "tokenizer ids");
            try (NDManager scope = manager.newSubManager()) {
                NDArray x = scope.create(new long[][] {ids});
                float[] e = model.embed(ps, x, scope.ones(x.getShape())).toFloatArray();
                err = Math.max(err, maxAbsDiff(e, expected));
            }
        }
        System.out.printf(Locale.ROOT, "MiniLM vs expected.json base_mean_pooled (%d sentences): %.2e%n",
                sentences.size(), err);
        assertTrue(err <= TOLERANCE, "base embeddings differ by " + err);
    }

    private static float[][] rows(NDArray hidden, int b, int length) {
        float[][] out = new float[length][];
        for (int t = 0; t < length; t++) {
            out[t] = hidden.get(b, t).toFloatArray();
        }
        return out;
    }

}
