package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GradientClippingTest {

    @Test
    void clipsByGlobalNormLikeTorch() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {3f, 4f});
            NDArray b = m.create(new float[] {12f});
            double total = GradientClipping.clip(List.of(a, b), 1.0);
            assertEquals(13.0, total, 1e-9);
            float coef = (float) (1.0 / (13.0 + 1e-6));
            assertArrayEquals(new float[] {3 * coef, 4 * coef}, a.toFloatArray(), 1e-7f);
            assertArrayEquals(new float[] {12 * coef}, b.toFloatArray(), 1e-7f);
            assertEquals(1.0, GradientClipping.globalNorm(List.of(a, b)), 1e-6);
        }
    }

    @Test
    void leavesSmallGradientsAloneAndReportsNaN() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(new float[] {0.3f, 0.4f});
            assertEquals(0.5, GradientClipping.clip(List.of(a), 1.0), 1e-7);
            assertArrayEquals(new float[] {0.3f, 0.4f}, a.toFloatArray());
            NDArray n = m.create(new float[] {Float.NaN, 1f});
            assertTrue(Double.isNaN(GradientClipping.clip(List.of(a, n), 1.0)));
        }
    }
}
