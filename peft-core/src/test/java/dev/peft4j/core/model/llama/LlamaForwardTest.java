package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** KV cache, padding and the DJL entry point, on a random GQA model. */
class LlamaForwardTest {

    private static final long[] SEQ = {3, 17, 42, 8, 59, 1, 23};

    private static NDManager manager;
    private static LlamaForCausalLM lm;
    private static ParameterStore ps;

    @BeforeAll
    static void build() {
        manager = NDManager.newBaseManager();
        lm = LlamaTestSupport.randomModel(LlamaConfig.of(LlamaTestSupport.tinyConfig("llama"), "tiny"), manager, 7);
        ps = new ParameterStore(manager, false);
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static float[] logits(NDManager m, long[] ids) {
        return lm.forward(ps, m.create(ids, new Shape(1, ids.length)), null, null, null, false)
                .logits().toFloatArray();
    }

    private static float[] row(float[] logits, int t) {
        float[] out = new float[64];
        System.arraycopy(logits, t * 64, out, 0, 64);
        return out;
    }

    @Test
    void kvCacheMatchesFullRecompute() {
        try (NDManager m = manager.newSubManager(); KvCache cache = lm.newCache(m)) {
            float[] full = logits(m, SEQ);
            long[] prefill = {SEQ[0], SEQ[1], SEQ[2], SEQ[3]};
            float[] first = lm.forward(ps, m.create(prefill, new Shape(1, 4)), null, null, cache, false)
                    .logits().toFloatArray();
            assertEquals(4, cache.length());
            double worst = 0;
            for (int t = 0; t < 4; t++) {
                worst = Math.max(worst, maxAbsDiff(row(full, t), row(first, t)));
            }
            int owned = LlamaTestSupport.resourceCount(m);
            for (int t = 4; t < SEQ.length; t++) {
                assertEquals(2 * 2, LlamaTestSupport.resourceCount(cache.getManager()), "keys and values per layer");
                assertEquals(owned, LlamaTestSupport.resourceCount(m), "no step temporaries outside the step");
                try (NDManager step = m.newSubManager()) {
                    LlamaOutput out = lm.forward(ps, step.create(new long[] {SEQ[t]}, new Shape(1, 1)),
                            null, null, cache, false);
                    assertEquals(new Shape(1, 1, 64), out.logits().getShape());
                    worst = Math.max(worst, maxAbsDiff(row(full, t), out.logits().toFloatArray()));
                }
            }
            assertEquals(SEQ.length, cache.length());
            assertEquals(new Shape(1, 2, SEQ.length, 8), cache.keys(1).getShape());
            assertTrue(worst <= 1e-5, "cached logits differ by " + worst);
        }
    }

    @Test
    void paddedBatchMatchesUnpaddedSequences() {
        long[] a = SEQ;
        long[] b = {11, 5, 60, 2};
        try (NDManager m = manager.newSubManager()) {
            float[] aAlone = logits(m, a);
            float[] bAlone = logits(m, b);
            int pad = a.length - b.length;
            for (boolean left : new boolean[] {true, false}) {
                long[] ids = new long[2 * a.length];
                long[] mask = new long[2 * a.length];
                System.arraycopy(a, 0, ids, 0, a.length);
                java.util.Arrays.fill(mask, 0, a.length, 1);
                int off = a.length + (left ? pad : 0);
                System.arraycopy(b, 0, ids, off, b.length);
                java.util.Arrays.fill(mask, off, off + b.length, 1);
                float[] got = lm.forward(ps, m.create(ids, new Shape(2, a.length)),
                        m.create(mask, new Shape(2, a.length)), null, null, false).logits().toFloatArray();
                double worst = 0;
                for (int t = 0; t < a.length; t++) {
                    worst = Math.max(worst, maxAbsDiff(row(aAlone, t), row(got, t)));
                }
                for (int t = 0; t < b.length; t++) {
                    int at = a.length + (left ? pad : 0) + t;
                    worst = Math.max(worst, maxAbsDiff(row(bAlone, t), row(got, at)));
                }
                for (float v : got) {
                    assertTrue(Float.isFinite(v), "padding positions must not produce NaN");
                }
                assertTrue(worst <= 1e-5, (left ? "left" : "right") + " padding differs by " + worst);
            }
        }
    }

    @Test
    void leftPaddedBatchDecodesWithCache() {
        long[] b = {11, 5, 60};
        long next = 9;
        try (NDManager m = manager.newSubManager(); KvCache cache = lm.newCache(m)) {
            float[] want = row(logits(m, new long[] {11, 5, 60, next}), 3);
            long[] ids = {0, 0, 11, 5, 60};
            long[] mask = {0, 0, 1, 1, 1};
            lm.forward(ps, m.create(ids, new Shape(1, 5)), m.create(mask, new Shape(1, 5)), null, cache, false);
            float[] got = lm.forward(ps, m.create(new long[] {next}, new Shape(1, 1)),
                    m.create(new long[] {0, 0, 1, 1, 1, 1}, new Shape(1, 6)), null, cache, false)
                    .logits().toFloatArray();
            assertTrue(maxAbsDiff(want, got) <= 1e-5);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> lm.forward(ps,
                    m.create(new long[] {next}, new Shape(1, 1)), m.create(new long[] {1}, new Shape(1, 1)),
                    null, cache, false));
            assertEquals("attention_mask must be [batch, 7] (cached plus new tokens), got (1, 1)", e.getMessage());
        }
    }

    @Test
    void explicitPositionIdsAndLogitsToKeep() {
        try (NDManager m = manager.newSubManager()) {
            float[] full = logits(m, SEQ);
            NDArray ids = m.create(SEQ, new Shape(1, SEQ.length));
            NDArray pos = m.arange(0, SEQ.length).toType(ai.djl.ndarray.types.DataType.INT64, false)
                    .reshape(1, SEQ.length);
            LlamaOutput out = lm.forward(ps, ids, null, pos, null, false, 2);
            assertEquals(new Shape(1, 2, 64), out.logits().getShape());
            assertEquals(new Shape(1, SEQ.length, 32), out.hiddenStates().getShape());
            float[] last2 = out.logits().toFloatArray();
            assertTrue(maxAbsDiff(row(full, SEQ.length - 1), row(last2, 1)) <= 1e-6);
            // RoPE encodes relative positions: a uniform shift changes nothing, a permutation does.
            float[] shifted = lm.forward(ps, ids, null, pos.add(5), null, false).logits().toFloatArray();
            assertTrue(maxAbsDiff(full, shifted) <= 1e-4);
            float[] spread = lm.forward(ps, ids, null, pos.mul(3), null, false).logits().toFloatArray();
            assertTrue(maxAbsDiff(full, spread) > 1e-3);
        }
    }

    @Test
    void djlForwardTakesIdsAndMask() {
        try (NDManager m = manager.newSubManager()) {
            NDArray ids = m.create(SEQ, new Shape(1, SEQ.length));
            NDArray mask = m.ones(new Shape(1, SEQ.length)).toType(ai.djl.ndarray.types.DataType.INT64, false);
            NDList out = lm.forward(ps, new NDList(ids, mask), false);
            assertEquals(new Shape(1, SEQ.length, 64), out.singletonOrThrow().getShape());
            assertTrue(maxAbsDiff(logits(m, SEQ), out.singletonOrThrow().toFloatArray()) <= 1e-6);
            NDArray noMask = lm.forward(ps, new NDList(ids), false).singletonOrThrow();
            assertTrue(noMask.allClose(out.singletonOrThrow(), 1e-6, 1e-6, false));
            assertEquals(new Shape(1, SEQ.length, 64), lm.getOutputShapes(new Shape[] {new Shape(1, SEQ.length)})[0]);
            assertEquals(new Shape(2, 64),
                    out.singletonOrThrow().get(new NDIndex("0, 0:2, :")).getShape());
        }
    }

    @Test
    void gradientsFlowToEveryParameter() {
        LlamaForCausalLM model = LlamaTestSupport.randomModel(
                LlamaConfig.of(LlamaTestSupport.tinyConfig("qwen2"), "tiny"), manager, 8);
        try (NDManager m = manager.newSubManager();
                ai.djl.training.GradientCollector gc = m.getEngine().newGradientCollector()) {
            NDArray ids = m.create(new long[] {1, 2, 3, 4, 0, 0}, new Shape(2, 3));
            NDArray mask = m.create(new long[] {1, 1, 1, 0, 1, 1}, new Shape(2, 3));
            NDArray logits = model.forward(new ParameterStore(m, false), ids, mask, null, null, true).logits();
            gc.backward(logits.square().mean());
            for (var e : model.namedParameters().entrySet()) {
                NDArray g = e.getValue().getArray().getGradient();
                float norm = g.abs().sum().getFloat();
                assertTrue(Float.isFinite(norm) && norm > 0, e.getKey() + " has gradient norm " + norm);
            }
        }
    }
}
