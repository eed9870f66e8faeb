package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class RotaryEmbeddingTest {

    /** head_dim 8, theta 10000: 1 / 10000^(2i/8) = 1, 0.1, 0.01, 0.001. */
    private static final float[] PLAIN = {1f, 0.1f, 0.01f, 0.001f};

    @Test
    void defaultInverseFrequencies() {
        assertArrayEquals(PLAIN, RotaryEmbedding.defaultInverseFrequencies(8, 10000), 1e-9f);
        assertArrayEquals(PLAIN, new RotaryEmbedding(8, 10000, RopeScaling.none()).inverseFrequencies(), 1e-9f);
    }

    @Test
    void linearScalingDividesEveryFrequency() {
        float[] got = new RotaryEmbedding(8, 10000, RopeScaling.linear(4)).inverseFrequencies();
        assertArrayEquals(new float[] {0.25f, 0.025f, 0.0025f, 0.00025f}, got, 1e-9f);
    }

    @Test
    void llama3ScalingMatchesHandComputedValues() {
        // original context 64, low 1, high 4 => low-frequency wavelength 64, high-frequency 16.
        // Wavelengths 2*pi/inv: 6.28 (high frequency: kept), 62.8 (between: smoothed),
        // 628 and 6283 (low frequency: divided by the factor 8).
        float[] got = new RotaryEmbedding(8, 10000, RopeScaling.llama3(8, 1, 4, 64)).inverseFrequencies();
        double wavelen = 2 * Math.PI / 0.1;
        double smooth = (64 / wavelen - 1) / (4 - 1); // 0.0061972...
        double medium = (1 - smooth) * 0.1 / 8 + smooth * 0.1;
        assertEquals(0.0061972, smooth, 1e-7);
        assertArrayEquals(new float[] {1f, (float) medium, 0.00125f, 0.000125f}, got, 1e-8f);
        assertEquals(0.0130423, got[1], 1e-7);
    }

    @Test
    void rotatesHalvesByPositionTimesFrequency() {
        RotaryEmbedding rope = new RotaryEmbedding(4, 100, RopeScaling.none()); // inv = 1, 0.1
        try (NDManager m = NDManager.newBaseManager()) {
            NDList cs = rope.cosSin(m.create(new long[] {0, 3}, new Shape(1, 2)), DataType.FLOAT32);
            assertEquals(new Shape(1, 1, 2, 4), cs.get(0).getShape());
            // x = [x1 | x2] = [1, 2 | 3, 4] at positions 0 and 3
            NDArray x = m.create(new float[] {1, 2, 3, 4, 1, 2, 3, 4}, new Shape(1, 1, 2, 4));
            float[] got = RotaryEmbedding.apply(x, cs.get(0), cs.get(1)).toFloatArray();
            double c0 = Math.cos(3);
            double s0 = Math.sin(3);
            double c1 = Math.cos(0.3);
            double s1 = Math.sin(0.3);
            float[] want = {1, 2, 3, 4, // position 0: unchanged
                (float) (1 * c0 - 3 * s0), (float) (2 * c1 - 4 * s1),
                (float) (3 * c0 + 1 * s0), (float) (4 * c1 + 2 * s1)};
            assertArrayEquals(want, got, 1e-6f);
        }
    }
}
