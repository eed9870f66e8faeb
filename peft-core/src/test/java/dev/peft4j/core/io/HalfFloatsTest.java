package dev.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/** The Java half/bfloat16 conversions agree with PyTorch bit for bit. */
class HalfFloatsTest {

    private static void assertSameFloat(float expected, float actual, String what) {
        if (Float.isNaN(expected)) {
            assertEquals(true, Float.isNaN(actual), what);
        } else {
            assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(actual), what);
        }
    }

    @Test
    void everyHalfMatchesTorch() {
        try (NDManager m = NDManager.newBaseManager()) {
            ByteBuffer bits = ByteBuffer.allocate(1 << 17).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 1 << 16; i++) {
                bits.putShort((short) i);
            }
            NDArray halves = m.create(bits.flip(), new Shape(1 << 16), DataType.FLOAT16);
            float[] torch = halves.toType(DataType.FLOAT32, false).toFloatArray();
            for (int i = 0; i < 1 << 16; i++) {
                assertSameFloat(
                        torch[i],
                        HalfFloats.halfToFloat((short) i),
                        "half 0x" + Integer.toHexString(i));
            }
        }
    }

    @Test
    void everyBf16RoundsToHalfLikeTorch() {
        float[] values = new float[1 << 16];
        for (int i = 0; i < values.length; i++) {
            values[i] = HalfFloats.bf16ToFloat((short) i);
        }
        assertConvertsLikeTorch(values);
    }

    @Test
    void randomFloatsRoundToHalfLikeTorch() {
        Random random = new Random(42);
        float[] values = new float[200_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = Float.intBitsToFloat(random.nextInt());
        }
        // ties at the subnormal and normal boundaries
        values[0] = 0x1p-25f;
        values[1] = 0x1.8p-24f;
        values[2] = 65520f;
        values[3] = 65519.996f;
        values[4] = 1 + 0x1p-11f;
        values[5] = 1 + 0x3p-11f;
        assertConvertsLikeTorch(values);
    }

    private static void assertConvertsLikeTorch(float[] values) {
        try (NDManager m = NDManager.newBaseManager()) {
            ByteBuffer torch =
                    m.create(values)
                            .toType(DataType.FLOAT16, false)
                            .toByteBuffer()
                            .order(ByteOrder.nativeOrder());
            for (int i = 0; i < values.length; i++) {
                short expected = torch.getShort(i * 2);
                short actual = HalfFloats.floatToHalf(values[i]);
                if (Float.isNaN(values[i])) {
                    assertEquals(0x7C00, actual & 0x7C00);
                    assertEquals(true, (actual & 0x3FF) != 0, "NaN stays NaN");
                } else {
                    assertEquals(expected, actual, "float " + values[i]);
                }
            }
        }
    }

    @Test
    void floatToBf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, HalfFloats.floatToBf16(1f));
        assertEquals(
                (short) 0x3F80,
                HalfFloats.floatToBf16(Float.intBitsToFloat(0x3F808000))); // tie, even
        assertEquals(
                (short) 0x3F82,
                HalfFloats.floatToBf16(Float.intBitsToFloat(0x3F818000))); // tie, odd
        assertEquals((short) 0x3F81, HalfFloats.floatToBf16(Float.intBitsToFloat(0x3F808001)));
        assertEquals((short) 0x7F80, HalfFloats.floatToBf16(Float.MAX_VALUE));
        assertEquals(true, Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        assertEquals(-2.5f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(-2.5f)));
    }
}
