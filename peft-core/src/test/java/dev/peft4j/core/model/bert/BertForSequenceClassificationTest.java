package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.ArrayTensorSource;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.StateDictException;
import dev.peft4j.core.testing.ArrayDiff;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.peft4j.core.model.bert.BertModelTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BertForSequenceClassificationTest {

    static final long[] IDS = {1, 5, 9, 3, 2, 1, 7, 2, 0, 0};
    static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    @Test
    void namesAreHuggingFaces() {
        BertForSequenceClassification clf = new BertForSequenceClassification(
                TinyBert.config().withLabels(List.of("a", "b", "c")), Pooling.POOLER);
        List<String> names = new ArrayList<>(clf.namedParameters().keySet());
        assertEquals("bert.embeddings.word_embeddings.weight", names.get(0));
        assertEquals(List.of("bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight",
                "classifier.bias"), names.subList(names.size() - 4, names.size()));
        assertEquals(new Shape(3, 8), clf.getModule("classifier").expectedShape("weight"));
        assertFalse(new BertForSequenceClassification(TinyBert.config(), Pooling.MEAN)
                .namedParameters().containsKey("bert.pooler.dense.weight"), "MEAN needs no pooler");
    }

    /** Each pooling mode feeds its own vector to the classifier, checked against the float64 reference. */
    @Test
    void poolingModesMatchReference() {
        BertForSequenceClassification full = new BertForSequenceClassification(TinyBert.config(), Pooling.POOLER);
        Map<String, float[]> w = TinyBert.weights(full, 11);
        BertReference ref = new BertReference(TinyBert.strip(w, "bert."), TinyBert.config());
        int[][] seqs = {{1, 5, 9, 3, 2}, {1, 7, 2}};
        try (NDManager m = NDManager.newBaseManager()) {
            for (Pooling pooling : Pooling.values()) {
                BertForSequenceClassification clf = BertForSequenceClassification.loader()
                        .setCheckpoint(TinyBert.source(m, full, w, ""), TinyBert.hfConfig())
                        .setManager(m).optPooling(pooling).load();
                assertTrue(clf.newlyInitialized().isEmpty(), pooling + ": " + clf.loadReport());
                NDArray logits = clf.forward(new ParameterStore(m, false), m.create(IDS, new Shape(2, 5)),
                        m.create(MASK, new Shape(2, 5)), null, false);
                assertEquals(new Shape(2, 2), logits.getShape());
                List<Double> expected = new ArrayList<>();
                for (int[] s : seqs) {
                    double[][] last = ref.lastHidden(s, BertModelTest.ones(s.length));
                    double[] v = pooling == Pooling.POOLER ? ref.pooled(last)
                            : pooling == Pooling.CLS ? last[0] : BertReference.mean(last, BertModelTest.ones(s.length));
                    for (double x : ref.linear(new double[][] {v}, "classifier", 8, 2)[0]) {
                        expected.add(x);
                    }
                }
                assertClose(expected.stream().mapToDouble(Double::doubleValue).toArray(), logits.toFloatArray(), 5e-5);
            }
        }
    }

    @Test
    void buildsFromBaseModelWithFreshHead() {
        BertModel base = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(base, 12);
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification clf = BertForSequenceClassification.loader()
                    .setCheckpoint(TinyBert.source(m, base, w, ""), TinyBert.hfConfig())
                    .setManager(m).optPooling(Pooling.MEAN).optLabels(List.of("great", "other", "meh")).load();
            assertEquals(List.of("classifier.weight", "classifier.bias"), clf.newlyInitialized());
            assertEquals(List.of("great", "other", "meh"), clf.labels());
            assertArrayEquals(w.get("encoder.layer.0.attention.self.query.weight"), clf.namedParameters()
                    .get("bert.encoder.layer.0.attention.self.query.weight").getArray().toFloatArray());
            NDArray cw = clf.namedParameters().get("classifier.weight").getArray();
            assertEquals(new Shape(3, 8), cw.getShape());
            double std = Math.sqrt(cw.square().mean().getFloat());
            assertTrue(std > 0.003 && std < 0.05, "N(0, 0.02) init, std " + std);
            assertArrayEquals(new float[3], clf.namedParameters().get("classifier.bias").getArray().toFloatArray());
            assertTrue(clf.isInitialized());

            // POOLER on a checkpoint without pooler: the pooler is fresh too
            Map<String, float[]> noPooler = new java.util.LinkedHashMap<>(w);
            noPooler.remove("pooler.dense.weight");
            noPooler.remove("pooler.dense.bias");
            BertForSequenceClassification p = BertForSequenceClassification.loader()
                    .setCheckpoint(TinyBert.source(m, base, noPooler, ""), TinyBert.hfConfig())
                    .setManager(m).load();
            assertEquals(List.of("bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight",
                    "classifier.bias"), p.newlyInitialized());
            assertEquals(new Shape(2, 2), p.forward(new ParameterStore(m, false), m.create(IDS, new Shape(2, 5)),
                    m.create(MASK, new Shape(2, 5)), null, false).getShape());
        }
    }

    @Test
    void aFreshHeadDependsOnTheSeedOnlyNotOnTheEngineGenerator() {
        BertModel base = new BertModel(TinyBert.config());
        Map<String, float[]> w = TinyBert.weights(base, 12);
        try (NDManager m = NDManager.newBaseManager()) {
            java.util.function.LongFunction<float[]> head = engineSeed -> {
                ai.djl.engine.Engine.getInstance().setRandomSeed((int) engineSeed);
                return BertForSequenceClassification.loader().setCheckpoint(TinyBert.source(m, base, w, ""),
                        TinyBert.hfConfig()).setManager(m).optPooling(Pooling.MEAN).load()
                        .namedParameters().get("classifier.weight").getArray().toFloatArray();
            };
            // what two processes see: the engine's generator starts elsewhere; the head does not
            assertArrayEquals(head.apply(1), head.apply(2));
            float[] seed7 = BertForSequenceClassification.loader().setCheckpoint(TinyBert.source(m, base, w, ""),
                    TinyBert.hfConfig()).setManager(m).optPooling(Pooling.MEAN).optSeed(7).load()
                    .namedParameters().get("classifier.weight").getArray().toFloatArray();
            assertFalse(java.util.Arrays.equals(head.apply(3), seed7), "another seed, another head");
        }
    }

    @Test
    void rejectsCheckpointsThatDoNotFit() {
        BertForSequenceClassification full = new BertForSequenceClassification(TinyBert.config(), Pooling.POOLER);
        Map<String, float[]> w = TinyBert.weights(full, 13);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, float[]> broken = new java.util.LinkedHashMap<>(w);
            broken.remove("bert.encoder.layer.0.output.dense.weight");
            StateDictException e = assertThrows(StateDictException.class, () -> BertForSequenceClassification.loader()
                    .setCheckpoint(TinyBert.source(m, full, broken, ""), TinyBert.hfConfig()).setManager(m).load());
            assertEquals("state dict from <memory> does not match the model, nothing was loaded;"
                    + " 1 missing: bert.encoder.layer.0.output.dense.weight", e.getMessage());
            e = assertThrows(StateDictException.class, () -> BertForSequenceClassification.loader()
                    .setCheckpoint(TinyBert.source(m, full, w, ""), TinyBert.hfConfig())
                    .optLabels(List.of("a", "b", "c")).setManager(m).load());
            assertEquals("state dict from <memory> does not match the model, nothing was loaded;"
                    + " 2 missing: classifier.weight, classifier.bias; 2 shape mismatch: classifier.weight expected (3, 8) but checkpoint has (2, 8),"
                    + " classifier.bias expected (3) but checkpoint has (2)", e.getMessage());
            NullPointerException npe = assertThrows(NullPointerException.class,
                    () -> BertForSequenceClassification.loader().setManager(m).load());
            assertEquals("BertForSequenceClassification.Loader: a checkpoint is required (setCheckpoint or setModelDir)",
                    npe.getMessage());
        }
    }

    @Test
    void classifierDropoutUsesTheModelsMasks() {
        BertForSequenceClassification full = new BertForSequenceClassification(TinyBert.config(), Pooling.CLS);
        Map<String, float[]> w = TinyBert.weights(full, 14);
        try (NDManager m = NDManager.newBaseManager()) {
            dev.peft4j.core.nn.StateDictLoader.builder().setSource(TinyBert.source(m, full, w, ""))
                    .setManager(m).build().load(full);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray ids = m.create(IDS, new Shape(2, 5));
            full.setDropoutMasks(DropoutMasks.seeded(5));
            float[] a = full.forward(ps, ids, null, null, true).toFloatArray();
            full.setDropoutMasks(DropoutMasks.seeded(5));
            float[] b = full.forward(ps, ids, null, null, true).toFloatArray();
            assertArrayEquals(a, b);
            float[] eval = full.forward(ps, ids, null, null, false).toFloatArray();
            assertTrue(ArrayDiff.maxAbsDiff(a, eval) > 1e-3);
            assertEquals(ArrayTensorSource.class, TinyBert.source(m, full, w, "").getClass());
        }
    }
}
