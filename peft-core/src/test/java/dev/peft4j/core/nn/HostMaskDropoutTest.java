package dev.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;

/** The host-drawn dropout mask: its stream, independence of the thread count, scaling and gradient. */
class HostMaskDropoutTest {

    private static float[] mask(long n, float rate, long seed, int threads) {
        FloatBuffer out = FloatBuffer.allocate((int) n);
        HostMaskDropout.fill(out, n, rate, seed, threads);
        return out.array();
    }

    @Test
    void elementsFollowTheDocumentedStream() {
        long n = HostMaskDropout.CHUNK + 5; // a second, partial chunk with an odd tail
        float[] m = mask(n, 0.25f, 42L, 1);
        long threshold = 1L << 30; // 0.25 · 2^32
        SplittableRandom first = new SplittableRandom(42L);
        long b0 = first.nextLong();
        assertEquals((b0 >>> 32) >= threshold ? 4f / 3f : 0f, m[0]);
        assertEquals((b0 & 0xFFFFFFFFL) >= threshold ? 4f / 3f : 0f, m[1]);
        SplittableRandom second = new SplittableRandom(42L + 0x9E3779B97F4A7C15L);
        long c0 = second.nextLong();
        assertEquals((c0 >>> 32) >= threshold ? 4f / 3f : 0f, m[HostMaskDropout.CHUNK]);
        second.nextLong();
        long c2 = second.nextLong();
        assertEquals((c2 >>> 32) >= threshold ? 4f / 3f : 0f, m[HostMaskDropout.CHUNK + 4], "odd tail: high half");
        int zeros = 0;
        for (float v : m) {
            assertTrue(v == 0f || v == 4f / 3f, "kept values are scaled by 1/(1-p): " + v);
            zeros += v == 0f ? 1 : 0;
        }
        assertEquals(0.25, zeros / (double) n, 0.005);
    }

    @Test
    void theMaskDoesNotDependOnTheThreadCount() {
        long n = 5L * HostMaskDropout.CHUNK + 123;
        float[] one = mask(n, 0.1f, -7L, 1);
        assertArrayEquals(one, mask(n, 0.1f, -7L, 2));
        assertArrayEquals(one, mask(n, 0.1f, -7L, 64));
        assertFalse(java.util.Arrays.equals(one, mask(n, 0.1f, -6L, 2)), "another seed, another mask");
    }

    @Test
    void dropoutScalesKeptElementsAndPassesTheMaskAsGradient() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.arange(1f, 1f + 3 * 4 * 5000).reshape(3, 4, 5000);
            x.setRequiresGradient(true);
            Engine.getInstance().setRandomSeed(11);
            float[] y;
            float[] grad;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = Dropout.apply(x, 0.1f);
                y = out.toFloatArray();
                gc.backward(out.sum());
                grad = x.getGradient().toFloatArray();
            }
            float[] xs = x.toFloatArray();
            int zeros = 0;
            for (int i = 0; i < y.length; i++) {
                if (y[i] == 0f) {
                    zeros++;
                    assertEquals(0f, grad[i]);
                } else {
                    assertEquals(xs[i] / 0.9f, y[i], xs[i] * 1e-6f);
                    assertEquals(1f / 0.9f, grad[i], 1e-6f);
                }
            }
            assertEquals(0.1, zeros / (double) y.length, 0.01);
            Engine.getInstance().setRandomSeed(11);
            assertArrayEquals(y, Dropout.apply(x, 0.1f).toFloatArray(), "the engine seed fixes the mask");
        }
    }

    @Test
    void otherTypesGoToTorchDropout() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertFalse(HostMaskDropout.supports(m.ones(new Shape(4), DataType.FLOAT64), 0.1f));
            assertTrue(HostMaskDropout.supports(m.ones(new Shape(4)), 0.1f));
            float[] y = Dropout.apply(m.ones(new Shape(1000), DataType.FLOAT64), 0.5f).toType(DataType.FLOAT32,
                    false).toFloatArray();
            for (float v : y) {
                assertTrue(v == 0f || v == 2f, "torch.dropout scales by 1/(1-p): " + v);
            }
        }
        assertEquals("host-mask dropout supports at most " + HostMaskDropout.MAX_ELEMENTS + " elements, got "
                + (HostMaskDropout.MAX_ELEMENTS + 1), assertThrows(IllegalArgumentException.class,
                        () -> HostMaskDropout.fill(FloatBuffer.allocate(1), HostMaskDropout.MAX_ELEMENTS + 1,
                                0.1f, 0L, 1)).getMessage());
    }
}
