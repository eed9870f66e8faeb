package dev.peft4j.quant;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A code table prepared for nearest-value lookup the way the reference does it: sort the codes
 * (stably, so of two equal codes the lower index sorts first), take the float32 midpoints {@code
 * (a + b) / 2} between neighbours, and find a value's bucket like {@code torch.bucketize(v, mids,
 * right=False)} (a value exactly on a midpoint goes to the lower code). The bucket is then mapped
 * back to the code's index in the original, possibly unsorted, table.
 *
 * <p>The lookup is a branch-free binary search over the midpoints padded with +infinity to a power
 * of two, so it allocates nothing and costs log2(size) comparisons per value.
 */
final class CodeBook {

    private final float[] code;
    /** Sorted midpoints, padded with +Inf to {@code size} entries. */
    private final float[] thresholds;
    /** Bucket (position in sorted order) to index in {@link #code}. */
    private final byte[] sortedToIndex;

    CodeBook(float[] code) {
        int size = code.length;
        if (size < 2 || Integer.bitCount(size) != 1 || size > 256) {
            throw new IllegalArgumentException(
                    "a code table needs a power-of-two size in [2, 256], got " + size);
        }
        for (int i = 0; i < size; i++) {
            if (!Float.isFinite(code[i])) {
                throw new IllegalArgumentException(
                        "code table value " + i + " is not finite: " + code[i]);
            }
        }
        this.code = code.clone();
        Integer[] order =
                IntStream.range(0, size)
                        .boxed()
                        .sorted(Comparator.comparingDouble(i -> code[i]))
                        .toArray(Integer[]::new);
        sortedToIndex = new byte[size];
        for (int i = 0; i < size; i++) {
            sortedToIndex[i] = (byte) (int) order[i];
        }
        thresholds = new float[size];
        Arrays.fill(thresholds, Float.POSITIVE_INFINITY);
        for (int i = 0; i + 1 < size; i++) {
            float lo = code[order[i]];
            float hi = code[order[i + 1]];
            thresholds[i] = (lo + hi) / 2f;
        }
    }

    /** @return number of codes */
    int size() {
        return code.length;
    }

    /** @return the code value at an (original) index */
    float value(int index) {
        return code[index];
    }

    /** @return a copy of the code table */
    float[] values() {
        return code.clone();
    }

    /**
     * @param v a value, normally in [-1, 1]; not NaN
     * @return the original index of the nearest code, ties to the lower code
     */
    int index(float v) {
        // Count of midpoints strictly below v, by a branch-free binary search.
        int pos = 0;
        for (int half = code.length >>> 1; half > 0; half >>>= 1) {
            pos += v > thresholds[pos + half - 1] ? half : 0;
        }
        return sortedToIndex[pos] & 0xFF;
    }

    /**
     * Specialised {@link #index(float)} for 16 codes (the 4-bit hot loop); unrolled.
     *
     * @param v a value in [-1, 1]
     * @return the original index of the nearest code
     */
    int index16(float v) {
        float[] t = thresholds;
        int pos = v > t[7] ? 8 : 0;
        pos += v > t[pos + 3] ? 4 : 0;
        pos += v > t[pos + 1] ? 2 : 0;
        pos += v > t[pos] ? 1 : 0;
        return sortedToIndex[pos];
    }
}
