package dev.peft4j.core.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DropoutTest {

    private static float[] masked(NDManager m, Dropout d, int seed) {
        Engine.getInstance().setRandomSeed(seed);
        return d.forward(m.ones(new Shape(64, 64)), true).toFloatArray();
    }

    /** The trainer relies on this: torch.manual_seed before a step fixes dropout masks on CPU. */
    @Test
    void engineSeedMakesMasksReproducible() {
        Dropout d = new Dropout(0.25);
        try (NDManager m = NDManager.newBaseManager()) {
            float[] a = masked(m, d, 7);
            masked(m, d, 99); // generator moves on
            float[] b = masked(m, d, 7);
            float[] c = masked(m, d, 8);
            assertArrayEquals(a, b);
            assertFalse(java.util.Arrays.equals(a, c));
            int zeros = 0;
            for (float v : a) {
                assertTrue(v == 0f || Math.abs(v - 1f / 0.75f) < 1e-6, "kept values are scaled by 1/(1-p): " + v);
                zeros += v == 0f ? 1 : 0;
            }
            assertEquals(0.25, zeros / 4096.0, 0.03);
            Engine.getInstance().setRandomSeed(5);
            float[] u1 = m.randomUniform(0, 1, new Shape(8)).toFloatArray();
            Engine.getInstance().setRandomSeed(5);
            assertArrayEquals(u1, m.randomUniform(0, 1, new Shape(8)).toFloatArray(), "randomUniform too");
        }
    }

    @Test
    void identityInEvaluationAndValidatesP() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(3));
            assertSame(x, new Dropout(0.5).forward(x, false));
            assertSame(x, new Dropout(0).forward(x, true));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Dropout(1));
        assertEquals("dropout probability must be in [0, 1), got 1.0", e.getMessage());
    }
}
