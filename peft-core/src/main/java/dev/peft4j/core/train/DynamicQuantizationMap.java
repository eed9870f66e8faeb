package dev.peft4j.core.train;

import java.util.Arrays;

/**
 * The 8-bit dynamic quantization maps of bitsandbytes' 8-bit optimizers ({@code
 * create_dynamic_map(signed, max_exponent_bits=7, total_bits=8)}) and their nearest-code search.
 *
 * <p>Construction, in float32: for decade {@code i = 0..6}, {@code k} points {@code b =
 * linspace(0.1, 1, k)} with {@code k = 2^i + 1} (signed) or {@code 2^(i+1) + 1} (unsigned), their
 * midpoints {@code (b[j] + b[j+1]) / 2} times {@code 10^(i-6)} (and their negatives when signed);
 * then {@code 0} and {@code 1}, sorted ascending. The signed map has 127 negative codes (no −1:
 * {@code code[0] = -0.99296875}), {@code code[127] = 0} and 128 positive ones up to {@code
 * code[255] = 1}; the unsigned map runs from {@code code[0] = 0} to {@code code[255] = 1}.
 *
 * <p>{@link #quantize} is the CUDA kernel's {@code quantize_2D}: a 7-step binary search from pivot
 * 127 that remembers the last pivot on each side, then the nearer of the final pivot and that
 * neighbour (ties to the pivot).
 */
public final class DynamicQuantizationMap {

    private static final int SIZE = 256;
    private static final float[] SIGNED = create(true);
    private static final float[] UNSIGNED = create(false);

    private DynamicQuantizationMap() {}

    /** @return a copy of the signed map (used for the first moment, bitsandbytes' {@code qmap1}) */
    public static float[] signed() {
        return SIGNED.clone();
    }

    /** @return a copy of the unsigned map (used for the second moment, {@code qmap2}) */
    public static float[] unsigned() {
        return UNSIGNED.clone();
    }

    /** @return the shared signed map; callers must not modify it */
    static float[] signedShared() {
        return SIGNED;
    }

    /** @return the shared unsigned map; callers must not modify it */
    static float[] unsignedShared() {
        return UNSIGNED;
    }

    /**
     * Builds a map as bitsandbytes' {@code create_dynamic_map} does, emulating float32 {@code
     * torch.linspace} (ATen's scalar algorithm: {@code start + step·j} for the first half, {@code
     * end − step·(k−1−j)} for the second).
     *
     * @param signed whether the map holds negative codes
     * @return 256 codes, ascending
     */
    static float[] create(boolean signed) {
        float[] data = new float[SIZE];
        int n = 0;
        for (int i = 0; i < 7; i++) {
            int k = signed ? (1 << i) + 1 : (1 << (i + 1)) + 1;
            float[] b = linspace(0.1f, 1f, k);
            float scale = (float) Math.pow(10, i - 6);
            for (int j = 0; j + 1 < k; j++) {
                float mean = (b[j] + b[j + 1]) / 2f;
                data[n++] = scale * mean;
                if (signed) {
                    data[n++] = -scale * mean;
                }
            }
        }
        data[n++] = 0f;
        data[n++] = 1f;
        if (n != SIZE) {
            throw new AssertionError("dynamic map has " + n + " codes");
        }
        Arrays.sort(data);
        return data;
    }

    private static float[] linspace(float start, float end, int steps) {
        float step = (end - start) / (steps - 1);
        float[] out = new float[steps];
        int half = steps / 2;
        for (int j = 0; j < steps; j++) {
            out[j] = j < half ? start + step * j : end - step * (steps - 1 - j);
        }
        return out;
    }

    /**
     * The code of {@code x} (already divided by its block's absmax, so in [−1, 1]) as the CUDA
     * kernel's {@code quantize_2D} finds it. A NaN {@code x} gives code 0.
     *
     * @param code the map, ascending, 256 entries
     * @param signed whether it is the signed map (the lower bound starts at −1, else 0)
     * @param x the normalized value
     * @return the code index, 0..255
     */
    static int quantize(float[] code, boolean signed, float x) {
        int pivot = 127;
        int upperPivot = 255;
        int lowerPivot = 0;
        float lower = signed ? -1f : 0f;
        float upper = 1f;
        float val = code[pivot];
        for (int i = 64; i > 0; i >>= 1) {
            if (x > val) {
                lowerPivot = pivot;
                lower = val;
                pivot += i;
            } else {
                upperPivot = pivot;
                upper = val;
                pivot -= i;
            }
            val = code[pivot];
        }
        if (x > val) {
            return x > (upper + val) * 0.5f ? upperPivot : pivot;
        }
        return x < (lower + val) * 0.5f ? lowerPivot : pivot;
    }
}
