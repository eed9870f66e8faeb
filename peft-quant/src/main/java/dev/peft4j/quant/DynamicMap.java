package dev.peft4j.quant;

import java.util.Arrays;

/**
 * bitsandbytes' dynamic 8-bit data type ({@code functional.create_dynamic_map}), the code table of
 * the second quantization of the 4-bit block scales.
 *
 * <p>For each exponent {@code i < maxExponentBits} the map holds the midpoints of {@code
 * linspace(0.1, 1, 2^(i + nonSignBits - maxExponentBits) + 1)} (twice as many when unsigned)
 * scaled by {@code 10^(i - maxExponentBits + 1)}, and their negatives when signed; then 0 and 1,
 * padded with zeros to {@code 2^totalBits} values and sorted. Every step is float32 as in
 * bitsandbytes, with {@code torch.linspace} reproduced by {@link TorchCpuFloat#linspace}.
 */
public final class DynamicMap {

    private static final float[] SIGNED_8BIT = create(true, 7, 8);

    private DynamicMap() {}

    /**
     * The map bitsandbytes uses for double quantization: {@code create_dynamic_map(signed=True,
     * max_exponent_bits=7, total_bits=8)}, 256 sorted values from -0.99296875 to 1.
     *
     * @return a copy of the 256 values
     */
    public static float[] signed8Bit() {
        return SIGNED_8BIT.clone();
    }

    /**
     * {@code create_dynamic_map(signed, max_exponent_bits, total_bits)}.
     *
     * @param signed whether the map holds negative values
     * @param maxExponentBits number of exponent bits, at least 1
     * @param totalBits total bits, 2 to 8; {@code maxExponentBits} at most {@code totalBits - 1}
     * @return {@code 2^totalBits} sorted values
     * @throws IllegalArgumentException when the bit counts are out of range
     */
    public static float[] create(boolean signed, int maxExponentBits, int totalBits) {
        if (totalBits < 2 || totalBits > 8) {
            throw new IllegalArgumentException("totalBits must be in [2, 8], got " + totalBits);
        }
        if (maxExponentBits < 1 || maxExponentBits > totalBits - 1) {
            throw new IllegalArgumentException(
                    "maxExponentBits must be in [1, totalBits - 1], got " + maxExponentBits);
        }
        int size = 1 << totalBits;
        // bitsandbytes: non_sign_bits = total_bits - (1 if signed else 1)
        int nonSignBits = totalBits - 1;
        int additionalItems = (1 << (nonSignBits - maxExponentBits)) - 1;
        float[] data = new float[size];
        int count = 0;
        int i = 0;
        for (; i < maxExponentBits; i++) {
            int shift = i + nonSignBits - maxExponentBits + (signed ? 0 : 1);
            count = appendMeans(data, count, (1 << shift) + 1, exponentScale(i, maxExponentBits),
                    signed);
        }
        if (additionalItems > 0) {
            // bitsandbytes reuses the last exponent (the loop variable i - 1) here.
            count = appendMeans(data, count, additionalItems + 1,
                    exponentScale(i - 1, maxExponentBits), signed);
        }
        if (count + 2 > size) {
            throw new IllegalStateException(
                    "dynamic map overflows " + size + " values (" + (count + 2) + ")");
        }
        data[count++] = 0f;
        data[count++] = 1f;
        // The rest stays 0 (bitsandbytes pads with zeros), then everything is sorted.
        Arrays.sort(data);
        return data;
    }

    /** Python's {@code 10 ** (-(max_exponent_bits - 1) + i)}, as the float32 scalar torch uses. */
    private static float exponentScale(int i, int maxExponentBits) {
        int e = -(maxExponentBits - 1) + i;
        return e >= 0 ? (float) Math.pow(10, e) : (float) Double.parseDouble("1e" + e);
    }

    private static int appendMeans(
            float[] data, int count, int fractionItems, float scale, boolean signed) {
        float[] boundaries = TorchCpuFloat.linspace(0.1f, 1f, fractionItems);
        int needed = (fractionItems - 1) * (signed ? 2 : 1);
        if (count + needed > data.length) {
            throw new IllegalStateException(
                    "dynamic map overflows " + data.length + " values");
        }
        for (int k = 0; k + 1 < fractionItems; k++) {
            float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
            data[count++] = scale * mean;
        }
        if (signed) {
            for (int k = 0; k + 1 < fractionItems; k++) {
                float mean = (boundaries[k] + boundaries[k + 1]) / 2f;
                data[count++] = -scale * mean;
            }
        }
        return count;
    }
}
