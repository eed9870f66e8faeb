package dev.peft4j.core.io;

/**
 * Bit-level conversions between float32 and the 16-bit float formats (IEEE half, bfloat16), for
 * Java 17 which lacks {@code Float.floatToFloat16}. All conversions to 16 bits round to nearest,
 * ties to even, like PyTorch; NaN stays NaN, overflow becomes infinity.
 */
public final class HalfFloats {

    private HalfFloats() {}

    /**
     * @param bf16 the bfloat16 bits (low 16 bits used)
     * @return the exactly equal float
     */
    public static float bf16ToFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }

    /**
     * @param value a float
     * @return the nearest bfloat16 bits (ties to even)
     */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040); // quiet NaN, keeps the sign
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /**
     * @param half the IEEE half-precision bits (low 16 bits used)
     * @return the exactly equal float
     */
    public static float halfToFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0) {
            float v = mant * 0x1p-24f; // zero or subnormal: exact
            return sign == 0 ? v : -v;
        }
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /**
     * @param value a float
     * @return the nearest IEEE half-precision bits (ties to even)
     */
    public static short floatToHalf(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mant == 0 ? 0 : 0x200 | (mant >>> 13)));
        }
        int e = exp - 112; // rebias 127 -> 15
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign; // below half the smallest subnormal
            }
            return (short) (sign | roundShift(mant | 0x800000, 14 - e));
        }
        // Rounding may carry into the exponent, up to infinity: that is the correct result.
        return (short) (sign | roundShift((e << 23) | mant, 13));
    }

    private static int roundShift(int value, int shift) {
        int result = value >>> shift;
        int rest = value & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (result & 1) != 0)) {
            result++;
        }
        return result;
    }
}
