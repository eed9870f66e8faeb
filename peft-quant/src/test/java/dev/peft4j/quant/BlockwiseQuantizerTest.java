package dev.peft4j.quant;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-computed cases for the rules the fixtures do not all exercise, and input validation. */
class BlockwiseQuantizerTest {

    /** Midpoint between NF4 codes 7 (0) and 8 (0.0796...), computed in float32. */
    private static final float NF4_MID_7_8 = 0.03979014977812767f;

    private static float[] padded(int size, float... head) {
        return Arrays.copyOf(head, size);
    }

    private static byte[] bytes(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    @Test
    void valueOnMidpointGoesToLowerCode() {
        float[] x = padded(32, 1f, NF4_MID_7_8, Math.nextUp(NF4_MID_7_8));
        QuantizedTensor q = BlockwiseQuantizer.quantize(x, new long[] {32}, QuantType.NF4, 32, false);
        byte[] expected = new byte[16];
        Arrays.fill(expected, (byte) 0x77);
        expected[0] = (byte) 0xF7; // 1.0 -> 15, midpoint -> 7 (lower)
        expected[1] = (byte) 0x87; // just above the midpoint -> 8, then 0 -> 7
        assertArrayEquals(expected, q.packed());
        assertArrayEquals(new float[] {1f}, q.state().absmax().orElseThrow());
    }

    @Test
    void fp4ZerosSplitBySign() {
        // FP4 holds 0 at index 0 and index 8; sorted stably, index 0 comes first, so 0 and small
        // negatives get 0, small positives 8. 0.0026 is the midpoint of 0 (index 8) and 0.0052.
        float mid = (0f + 0.0052f) / 2f;
        float[] x = padded(32, 1f, 0f, 0.001f, -0.001f, -0f, mid, Math.nextUp(mid), -mid);
        QuantizedTensor q = BlockwiseQuantizer.quantize(x, new long[] {32}, QuantType.FP4, 32, false);
        byte[] packed = q.packed();
        assertArrayEquals(bytes(0x30, 0x80, 0x08, 0x19), Arrays.copyOf(packed, 4));
        for (int i = 4; i < 16; i++) {
            assertEquals(0, packed[i], "zero padding values -> code 0");
        }
    }

    @Test
    void partialBlockDividesFullBlockMultipliesByReciprocal() {
        // 0.11937045 / 3 is exactly the 7|8 midpoint (-> 7); 0.11937045 * (1/3f) is one ulp above
        // (-> 8).
        float x = 0.11937045305967331f;
        assertEquals(NF4_MID_7_8, x / 3f);
        assertTrue(x * (1f / 3f) > NF4_MID_7_8);
        QuantizedTensor partial =
                BlockwiseQuantizer.quantize(new float[] {3f, x}, new long[] {2}, QuantType.NF4, 64,
                        false);
        assertArrayEquals(bytes(0xF7), partial.packed());
        QuantizedTensor full =
                BlockwiseQuantizer.quantize(padded(64, 3f, x), new long[] {64}, QuantType.NF4, 64,
                        false);
        assertEquals((byte) 0xF8, full.packed()[0]);
    }

    @Test
    void allZeroBlockUsesMinimumAbsmax() {
        float[] x = new float[64];
        x[32] = 2f;
        QuantizedTensor nf4 = BlockwiseQuantizer.quantize(x, new long[] {2, 32}, QuantType.NF4, 32, false);
        assertArrayEquals(new float[] {1e-38f, 2f}, nf4.state().absmax().orElseThrow());
        assertEquals((byte) 0x77, nf4.packed()[0]);
        assertEquals((byte) 0xF7, nf4.packed()[16]);
        assertArrayEquals(x, BlockwiseDequantizer.dequantize(nf4));
        QuantizedTensor fp4 = BlockwiseQuantizer.quantize(x, new long[] {64}, QuantType.FP4, 32, false);
        assertEquals(0, fp4.packed()[0]);
        assertEquals((byte) 0x30, fp4.packed()[16]);
    }

    @Test
    void oddCountIsPaddedWithTheCodeOfZero() {
        float[] x = {1f, -1f, 0.5f};
        QuantizedTensor nf4 = BlockwiseQuantizer.quantize(x, new long[] {3}, QuantType.NF4, 64, false);
        assertArrayEquals(bytes(0xF0, 0xC7), nf4.packed()); // 0.5 -> 12 (0.4407); pad -> 7
        QuantizedTensor fp4 = BlockwiseQuantizer.quantize(x, new long[] {3}, QuantType.FP4, 64, false);
        assertArrayEquals(bytes(0x3B, 0x50), fp4.packed()); // 1 -> 3, -1 -> 11, 0.5 -> 5; pad -> 0
        assertArrayEquals(new float[] {1f, -1f, 0.44070982933044434f},
                BlockwiseDequantizer.dequantize(nf4));
        assertEquals(15, nf4.code(0));
        assertEquals(0, nf4.code(1));
        assertEquals(12, nf4.code(2));
    }

    @Test
    void doubleQuantizationOfTwoBlocks() {
        // Block absmax 1 and 3: offset 2, centered [-1, 1], nested absmax 1; -1 is below the
        // dynamic map's minimum (-0.99296875) -> code 0, 1 -> code 255.
        float[] x = new float[64];
        x[0] = 1f;
        x[32] = -3f;
        QuantizedTensor q = BlockwiseQuantizer.quantize(x, new long[] {64}, QuantType.NF4, 32, true);
        NestedAbsmax nested = q.state().nested().orElseThrow();
        assertEquals(2f, nested.offset());
        assertArrayEquals(new float[] {1f}, nested.absmax());
        assertArrayEquals(bytes(0, 255), nested.codes());
        assertEquals(256, nested.blocksize());
        assertArrayEquals(new float[] {-0.99296875f + 2f, 3f}, q.state().blockAbsmax());
        float[] deq = BlockwiseDequantizer.dequantize(q);
        assertEquals(1.00703125f, deq[0]);
        assertEquals(-3f, deq[32]);
    }

    @Test
    void nestedBlocksOfTwoHundredFiftySix() {
        Random rnd = new Random(3);
        int blocks = 600; // 2 full nested blocks and a partial one
        float[] x = new float[blocks * 32];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        QuantizedTensor q =
                BlockwiseQuantizer.quantize(x, new long[] {blocks, 32}, QuantType.NF4, 32, true);
        NestedAbsmax nested = q.state().nested().orElseThrow();
        assertEquals(3, nested.absmax().length);
        assertEquals(blocks, nested.codes().length);
        float[] plain =
                BlockwiseQuantizer.quantize(x, new long[] {blocks, 32}, QuantType.NF4, 32, false)
                        .state()
                        .absmax()
                        .orElseThrow();
        float[] restored = nested.dequantize();
        for (int b = 0; b < blocks; b++) {
            // The 8-bit dynamic map keeps block scales to within a few percent.
            assertEquals(plain[b], restored[b], 0.02f * plain[b], "block " + b);
        }
    }

    @Test
    void dequantizationErrorIsWithinHalfTheLargestCodeGap() {
        Random rnd = new Random(11);
        float[] x = new float[1000 * 3 + 1];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        for (QuantType type : QuantType.values()) {
            float[] code = type.code();
            Arrays.sort(code);
            float maxGap = 0;
            for (int i = 1; i < code.length; i++) {
                maxGap = Math.max(maxGap, code[i] - code[i - 1]);
            }
            QuantizedTensor q = BlockwiseQuantizer.quantize(x, new long[] {x.length}, type, 128, false);
            float[] absmax = q.state().absmax().orElseThrow();
            float[] deq = BlockwiseDequantizer.dequantize(q);
            for (int i = 0; i < x.length; i++) {
                float bound = absmax[i / 128] * (maxGap / 2 + 1e-6f);
                assertTrue(Math.abs(x[i] - deq[i]) <= bound,
                        type + " value " + i + ": " + x[i] + " -> " + deq[i]);
            }
        }
    }

    @Test
    void quantizerKeepsItsSettings() {
        BlockwiseQuantizer quantizer =
                BlockwiseQuantizer.builder()
                        .setQuantType(QuantType.FP4)
                        .optBlocksize(128)
                        .optDoubleQuant(true)
                        .optDtype("bfloat16")
                        .build();
        QuantState state = quantizer.quantize(new float[] {1, 2, 3, 4}, 2, 2).state();
        assertEquals(QuantType.FP4, state.quantType());
        assertEquals(128, state.blocksize());
        assertTrue(state.isDoubleQuant());
        assertFalse(state.absmax().isPresent());
        assertEquals("bfloat16", state.dtype());
        assertArrayEquals(new long[] {2, 2}, state.shape());
    }

    @Test
    void rejectsBadBlocksizes() {
        for (int bs : new int[] {0, 16, 48, 100, 8192}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class,
                            () -> BlockwiseQuantizer.builder().setQuantType(QuantType.NF4)
                                    .optBlocksize(bs).build());
            assertTrue(e.getMessage().contains("32, 64, 128") && e.getMessage().contains("" + bs),
                    e.getMessage());
        }
    }

    @Test
    void rejectsNonFiniteValuesNamingThem() {
        float[] x = new float[40];
        x[5] = Float.NaN;
        IllegalArgumentException nan =
                assertThrows(IllegalArgumentException.class,
                        () -> BlockwiseQuantizer.quantize(x, new long[] {40}, QuantType.NF4, 32, false));
        assertTrue(nan.getMessage().contains("index 5") && nan.getMessage().contains("NaN"),
                nan.getMessage());
        x[5] = 0;
        x[37] = Float.NEGATIVE_INFINITY;
        IllegalArgumentException inf =
                assertThrows(IllegalArgumentException.class,
                        () -> BlockwiseQuantizer.quantize(x, new long[] {40}, QuantType.NF4, 32, false));
        assertTrue(inf.getMessage().contains("index 37") && inf.getMessage().contains("Infinity"),
                inf.getMessage());
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class,
                () -> BlockwiseQuantizer.quantize(new float[6], new long[] {2, 2}, QuantType.NF4, 64, false));
        assertThrows(IllegalArgumentException.class,
                () -> BlockwiseQuantizer.quantize(new float[0], new long[] {0}, QuantType.NF4, 64, false));
        assertThrows(IllegalArgumentException.class,
                () -> BlockwiseQuantizer.quantize(new float[4], new long[] {-2, -2}, QuantType.NF4, 64, false));
        assertThrows(IllegalArgumentException.class, () -> BlockwiseQuantizer.builder().build());
        assertThrows(IllegalArgumentException.class,
                () -> BlockwiseQuantizer.builder().setQuantType(QuantType.NF4).optDtype("int8").build());
        // Two blocks of absmax MAX_VALUE: their mean overflows float32.
        float[] x = new float[64];
        x[0] = Float.MAX_VALUE;
        x[32] = Float.MAX_VALUE;
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class,
                        () -> BlockwiseQuantizer.quantize(x, new long[] {64}, QuantType.NF4, 32, true));
        assertTrue(e.getMessage().contains("overflows"), e.getMessage());
    }
}
