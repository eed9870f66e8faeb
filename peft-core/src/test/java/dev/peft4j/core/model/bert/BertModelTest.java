package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.ArrayTensorSource;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.StateDictException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BertModelTest {

    static final int[] LONG = {1, 5, 9, 3, 2};
    static final int[] SHORT = {1, 7, 2};

    @Test
    void parameterNamesAreHuggingFaces() {
        BertModel model = new BertModel(TinyBert.config());
        List<String> expected = new ArrayList<>(List.of(
                "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"));
        for (int l = 0; l < TinyBert.LAYERS; l++) {
            String p = "encoder.layer." + l + ".";
            for (String n : List.of("attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense", "output.dense",
                    "output.LayerNorm")) {
                expected.add(p + n + ".weight");
                expected.add(p + n + ".bias");
            }
        }
        expected.add("pooler.dense.weight");
        expected.add("pooler.dense.bias");
        assertEquals(expected, new ArrayList<>(model.namedParameters().keySet()));
        assertEquals(new Shape(TinyBert.INTERMEDIATE, TinyBert.HIDDEN),
                model.getModule("encoder.layer.1.intermediate.dense").expectedShape("weight"));
        // embeddings (13+10+2)·8 + 2·8; per layer 4·(64+8) + 2·8 + (96+12) + (96+8) + 2·8; pooler 72
        long perLayer = 4 * 72 + 16 + 108 + 104 + 16;
        assertEquals(25 * 8 + 16 + 2 * perLayer + 72, model.parameterCount());
        assertFalse(new BertModel(TinyBert.config(), false).namedParameters().containsKey("pooler.dense.weight"));
    }

    @Test
    void matchesFloat64ReferenceOnRandomWeights() {
        BertModel model = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(model, 1);
        BertReference ref = new BertReference(w, model.config());
        try (NDManager m = NDManager.newBaseManager()) {
            load(model, m, w);
            ParameterStore ps = new ParameterStore(m, false);
            BertModelOutput out = model.forward(ps, ids(m, LONG), null, null, false);
            assertEquals(new Shape(1, 5, 8), out.lastHiddenState().getShape());
            assertEquals(new Shape(1, 8), out.pooledOutput().getShape());
            double[][] last = ref.lastHidden(LONG, ones(5));
            assertClose(flat(last), out.lastHiddenState().toFloatArray(), 2e-5);
            assertClose(ref.pooled(last), out.pooledOutput().toFloatArray(), 2e-5);
        }
    }

    @Test
    void paddingDoesNotChangeRealTokens() {
        BertModel model = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(model, 2);
        BertReference ref = new BertReference(w, model.config());
        try (NDManager m = NDManager.newBaseManager()) {
            load(model, m, w);
            ParameterStore ps = new ParameterStore(m, false);
            // SHORT padded with a non-zero id: padding ids must not matter either
            NDArray batch = m.create(new long[] {1, 5, 9, 3, 2, 1, 7, 2, 11, 11}, new Shape(2, 5));
            NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(2, 5));
            float[] padded = model.forward(ps, batch, mask, null, false).lastHiddenState().toFloatArray();
            float[] alone = model.forward(ps, ids(m, SHORT), null, null, false).lastHiddenState().toFloatArray();
            float[] longAlone = model.forward(ps, ids(m, LONG), null, null, false).lastHiddenState().toFloatArray();
            float[] shortInBatch = new float[3 * 8];
            System.arraycopy(padded, 5 * 8, shortInBatch, 0, 3 * 8);
            // equal up to float32 rounding (batched products block differently)
            assertClose(alone, shortInBatch, 1e-5);
            float[] longInBatch = new float[5 * 8];
            System.arraycopy(padded, 0, longInBatch, 0, 5 * 8);
            assertClose(longAlone, longInBatch, 1e-5);
            assertClose(flat(ref.lastHidden(SHORT, ones(3))), alone, 2e-5);

            float[] unmasked = model.forward(ps, batch, null, null, false).lastHiddenState().toFloatArray();
            float[] shortUnmasked = new float[3 * 8];
            System.arraycopy(unmasked, 5 * 8, shortUnmasked, 0, 3 * 8);
            assertTrue(maxAbsDiff(alone, shortUnmasked) > 1e-2, "without the mask padding must leak in");
        }
    }

    @Test
    void additiveMaskIsZeroForRealKeysAndMostNegativeForPadding() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray mask = m.create(new long[] {1, 1, 0, 1, 0, 0}, new Shape(2, 3));
            NDArray add = BertModel.additiveMask(mask, ai.djl.ndarray.types.DataType.FLOAT32);
            assertEquals(new Shape(2, 1, 1, 3), add.getShape());
            float f = -Float.MAX_VALUE;
            assertArrayEquals(new float[] {0, 0, f, 0, f, f}, add.toFloatArray());
            assertNull(BertModel.additiveMask(m.ones(new Shape(2, 3)), ai.djl.ndarray.types.DataType.FLOAT32),
                    "no padding, no mask");
            assertNull(BertModel.additiveMask(null, ai.djl.ndarray.types.DataType.FLOAT32));
        }
    }

    @Test
    void dropoutOnlyInTrainingAndReproducibleWithSeededMasks() {
        BertModel model = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(model, 3);
        try (NDManager m = NDManager.newBaseManager()) {
            load(model, m, w);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray x = ids(m, LONG);
            float[] eval1 = model.forward(ps, x, null, null, false).lastHiddenState().toFloatArray();
            model.setDropoutMasks(DropoutMasks.seeded(42));
            float[] eval2 = model.forward(ps, x, null, null, false).lastHiddenState().toFloatArray();
            assertArrayEquals(eval1, eval2, "inference ignores dropout");
            float[] train1 = model.forward(ps, x, null, null, true).lastHiddenState().toFloatArray();
            float[] train2 = model.forward(ps, x, null, null, true).lastHiddenState().toFloatArray();
            assertTrue(maxAbsDiff(eval1, train1) > 1e-3, "training applies dropout");
            assertTrue(maxAbsDiff(train1, train2) > 1e-3, "masks advance between calls");
            model.setDropoutMasks(DropoutMasks.seeded(42));
            float[] again = model.forward(ps, x, null, null, true).lastHiddenState().toFloatArray();
            assertArrayEquals(train1, again, "same seed, same masks");
        }
    }

    @Test
    void seededDropoutZeroesAboutRateAndScalesTheRest() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] y = DropoutMasks.dropout(m.ones(new Shape(10_000)), 0.25f, true, DropoutMasks.seeded(1))
                    .toFloatArray();
            int zeros = 0;
            for (float v : y) {
                if (v == 0) {
                    zeros++;
                } else {
                    assertEquals(1 / 0.75f, v, 1e-6);
                }
            }
            assertEquals(2500, zeros, 150);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DropoutMasks.dropout(m.ones(new Shape(2)), 1f, true, DropoutMasks.engine()));
            assertEquals("dropout rate must be in [0, 1), got 1.0", e.getMessage());
        }
    }

    /** Per-layer scopes close intermediate handles; autograd must still reach every layer. */
    @Test
    void gradientsReachEveryLayerThroughClosedScopes() {
        BertModel model = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(model, 8);
        try (NDManager m = NDManager.newBaseManager()) {
            load(model, m, w);
            model.freeze(p -> !p.contains("attention.self.query") && !p.startsWith("embeddings.word"));
            ParameterStore ps = new ParameterStore(m, false);
            NDArray batch = m.create(new long[] {1, 5, 9, 3, 2, 1, 7, 2, 11, 11}, new Shape(2, 5));
            NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(2, 5));
            try (ai.djl.training.GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray e = model.forward(ps, batch, mask, null, true).lastHiddenState();
                gc.backward(MeanPooling.apply(e, mask).square().sum());
            }
            for (String p : List.of("encoder.layer.0.attention.self.query.weight",
                    "encoder.layer.1.attention.self.query.bias", "embeddings.word_embeddings.weight")) {
                NDArray g = model.namedParameters().get(p).getArray().getGradient();
                assertTrue(g.abs().sum().getFloat() > 0, p + " has a gradient");
            }
            NDArray gWord = model.namedParameters().get("embeddings.word_embeddings.weight").getArray().getGradient();
            assertEquals(0f, gWord.get(11).abs().sum().getFloat(), "padding ids get no gradient");
            assertFalse(model.namedParameters().get("encoder.layer.0.output.dense.weight").requiresGradient());
        }
    }

    @Test
    void forwardUsesReplacedChildren() {
        BertModel model = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(model, 4);
        try (NDManager m = NDManager.newBaseManager()) {
            load(model, m, w);
            ParameterStore ps = new ParameterStore(m, false);
            float[] before = model.forward(ps, ids(m, LONG), null, null, false).lastHiddenState().toFloatArray();
            Linear zero = new Linear(8, 8, true);
            zero.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32);
            zero.parameter("weight").getArray().muli(0);
            model.setModule("encoder.layer.0.attention.self.value", zero);
            float[] after = model.forward(ps, ids(m, LONG), null, null, false).lastHiddenState().toFloatArray();
            assertTrue(maxAbsDiff(before, after) > 1e-2);
        }
    }

    @Test
    void loadsTaskCheckpointsOldNamesAndSkipsBuffersAndHeads() {
        BertModel shape = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(shape, 5);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = new LinkedHashMap<>();
            w.forEach((k, v) -> sd.put("bert." + k.replace("LayerNorm.weight", "LayerNorm.gamma")
                    .replace("LayerNorm.bias", "LayerNorm.beta"), m.create(v, TinyBert.shape(shape, k))));
            sd.put("bert.embeddings.position_ids", m.arange(0, TinyBert.MAX_POS, 1, ai.djl.ndarray.types.DataType.INT64)
                    .reshape(1, TinyBert.MAX_POS));
            sd.put("cls.predictions.bias", m.zeros(new Shape(TinyBert.VOCAB)));
            BertModel model = BertModel.load(ArrayTensorSource.of(sd), TinyBert.hfConfig(), m);
            assertTrue(model.hasPooler());
            assertTrue(model.loadReport().isClean());
            assertEquals(w.size(), model.loadReport().loaded());
            assertArrayEquals(w.get("encoder.layer.1.output.LayerNorm.weight"),
                    model.namedParameters().get("encoder.layer.1.output.LayerNorm.weight").getArray().toFloatArray());

            // a checkpoint without pooler gives a model without pooler
            Map<String, NDArray> noPooler = new LinkedHashMap<>(sd);
            noPooler.remove("bert.pooler.dense.weight");
            noPooler.remove("bert.pooler.dense.bias");
            BertModel bare = BertModel.load(ArrayTensorSource.of(noPooler), TinyBert.hfConfig(), m);
            assertFalse(bare.hasPooler());
            assertNull(bare.forward(new ParameterStore(m, false), ids(m, SHORT), null, null, false).pooledOutput());

            Map<String, NDArray> broken = new LinkedHashMap<>(noPooler);
            broken.remove("bert.encoder.layer.1.output.dense.bias");
            StateDictException e = assertThrows(StateDictException.class,
                    () -> BertModel.load(ArrayTensorSource.of(broken), TinyBert.hfConfig(), m));
            assertEquals("state dict from <memory> does not match the model, nothing was loaded;"
                    + " 1 missing: encoder.layer.1.output.dense.bias", e.getMessage());

            Map<String, NDArray> none = Map.of("weight", m.zeros(new Shape(1)));
            Exception e2 = assertThrows(IllegalArgumentException.class,
                    () -> BertModel.load(ArrayTensorSource.of(none), TinyBert.hfConfig(), m));
            assertEquals("no BERT weights in <memory>: neither 'embeddings.word_embeddings.weight' nor"
                    + " 'bert.embeddings.word_embeddings.weight' is there", e2.getMessage());
        }
    }

    @Test
    void loadsHuggingFaceDirectory(@TempDir Path dir) throws Exception {
        BertForSequenceClassification shape = new BertForSequenceClassification(TinyBert.config(), Pooling.POOLER);
        Map<String, float[]> w = TinyBert.weights(shape, 7);
        try (NDManager m = NDManager.newBaseManager()) {
            SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
            w.forEach((k, v) -> writer.add(k, m.create(v, TinyBert.shape(shape, k))));
            writer.write(dir.resolve("model.safetensors"));
            Files.writeString(dir.resolve("config.json"), TinyBert.json().put("num_labels", 2).toString());

            BertModel bert = BertModel.load(dir, m);
            assertTrue(bert.loadReport().isClean());
            assertEquals(39, bert.loadReport().loaded());
            BertForSequenceClassification clf = BertForSequenceClassification.loader().setModelDir(dir)
                    .setManager(m).load();
            assertEquals(List.of(), clf.newlyInitialized());
            assertArrayEquals(w.get("classifier.weight"),
                    clf.namedParameters().get("classifier.weight").getArray().toFloatArray());

            Path empty = Files.createDirectory(dir.resolve("empty"));
            ConfigException e = assertThrows(ConfigException.class, () -> BertModel.load(empty, m));
            assertEquals("no config.json at " + empty.resolve("config.json"), e.getMessage());
        }
    }

    @Test
    void embedIsMaskedMeanOfLastHiddenState() {
        BertModel model = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(model, 6);
        BertReference ref = new BertReference(w, model.config());
        try (NDManager m = NDManager.newBaseManager()) {
            load(model, m, w);
            NDArray batch = m.create(new long[] {1, 5, 9, 3, 2, 1, 7, 2, 0, 0}, new Shape(2, 5));
            NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(2, 5));
            NDArray e = model.embed(new ParameterStore(m, false), batch, mask);
            assertEquals(new Shape(2, 8), e.getShape());
            double[] e0 = BertReference.mean(ref.lastHidden(LONG, ones(5)), ones(5));
            double[] e1 = BertReference.mean(ref.lastHidden(SHORT, ones(3)), ones(3));
            assertClose(concat(e0, e1), e.toFloatArray(), 2e-5);
        }
    }

    @Test
    void rejectsSequencesLongerThanPositions() {
        BertModel model = new BertModel(TinyBert.config());
        try (NDManager m = NDManager.newBaseManager()) {
            model.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32);
            NDArray tooLong = m.zeros(new Shape(1, TinyBert.MAX_POS + 1), ai.djl.ndarray.types.DataType.INT64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.forward(new ParameterStore(m, false), tooLong, null, null, false));
            assertEquals("11 tokens exceed max_position_embeddings 10", e.getMessage());
            NDArray mask = m.ones(new Shape(1, 3));
            e = assertThrows(IllegalArgumentException.class, () -> model.forward(
                    new ParameterStore(m, false), m.zeros(new Shape(1, 4)), mask, null, false));
            assertEquals("attention mask (1, 3) does not match input ids (1, 4)", e.getMessage());
        }
    }

    @Test
    void hfInitializationIsNormalWithInitializerRange() {
        BertModel model = new BertModel(TinyBert.config());
        try (NDManager m = NDManager.newBaseManager()) {
            model.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32);
            NDArray wq = model.namedParameters().get("encoder.layer.0.intermediate.dense.weight").getArray();
            double std = Math.sqrt(wq.square().mean().getFloat());
            assertTrue(std > 0.01 && std < 0.03, "std " + std);
            assertArrayEquals(new float[8], model.namedParameters().get("pooler.dense.bias").getArray().toFloatArray());
            NDArray ln = model.namedParameters().get("embeddings.LayerNorm.weight").getArray();
            assertEquals(8f, ln.sum().getFloat());
            assertSame(model.config(), model.config());
            assertNotNull(model.dropoutMasks());
        }
    }

    static void load(BertModel model, NDManager m, Map<String, float[]> w) {
        dev.peft4j.core.nn.StateDictLoader.builder().setSource(TinyBert.source(m, model, w, "")).setManager(m)
                .build().load(model);
    }

    static NDArray ids(NDManager m, int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return m.create(l, new Shape(1, ids.length));
    }

    static int[] ones(int n) {
        int[] o = new int[n];
        java.util.Arrays.fill(o, 1);
        return o;
    }

    static double[] flat(double[][] x) {
        double[] out = new double[x.length * x[0].length];
        for (int i = 0; i < x.length; i++) {
            System.arraycopy(x[i], 0, out, i * x[0].length, x[0].length);
        }
        return out;
    }

    static double[] concat(double[] a, double[] b) {
        double[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static void assertClose(double[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, "length");
        double max = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            if (d > max) {
                max = d;
                at = i;
            }
        }
        assertTrue(max <= tol, "max abs error " + max + " at " + at + " exceeds " + tol);
    }

    static void assertClose(float[] expected, float[] actual, double tol) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        assertClose(e, actual, tol);
    }
}
