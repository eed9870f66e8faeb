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
    /** Per cell of {@link #sortableKey} space over [-1, 1]: the bucket at its start, -1 if unsure. */
    private final byte[] cellPos;
    /** Per cell: the one threshold inside it, +Inf when none. */
    private final float[] cellThreshold;

    /** Key bits dropped to form a cell: 2^16 float32 values per cell. */
    private static final int SHIFT = 16;
    private static final int MIN_KEY = sortableKey(-1f);
    private static final int MAX_KEY = sortableKey(1f);
    private static final int MIN_CELL = MIN_KEY >> SHIFT;

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
        int cells = (MAX_KEY >> SHIFT) - MIN_CELL + 1;
        cellPos = new byte[cells];
        cellThreshold = new float[cells];
        for (int c = 0; c < cells; c++) {
            int first = Math.max(MIN_KEY, (c + MIN_CELL) << SHIFT);
            int last = Math.min(MAX_KEY, ((c + MIN_CELL) << SHIFT) + (1 << SHIFT) - 1);
            int lo = position(fromKey(first));
            int hi = position(fromKey(last));
            cellThreshold[c] = Float.POSITIVE_INFINITY;
            if (hi == lo) {
                cellPos[c] = (byte) lo;
            } else if (hi == lo + 1) {
                cellPos[c] = (byte) lo;
                cellThreshold[c] = thresholds[lo];
            } else {
                cellPos[c] = -1;
            }
        }
    }

    /** A key whose signed order is the order of the float values (-0 just below +0). */
    static int sortableKey(float v) {
        int bits = Float.floatToRawIntBits(v);
        return bits ^ ((bits >> 31) & 0x7FFFFFFF);
    }

    private static float fromKey(int key) {
        return Float.intBitsToFloat(key < 0 ? key ^ 0x7FFFFFFF : key);
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
        return sortedToIndex[position(v)] & 0xFF;
    }

    /** Count of midpoints strictly below v, by a branch-free binary search. */
    private int position(float v) {
        int pos = 0;
        for (int half = code.length >>> 1; half > 0; half >>>= 1) {
            pos += v > thresholds[pos + half - 1] ? half : 0;
        }
        return pos;
    }

    /**
     * {@link #index(float)} for a value in [-1, 1] by table lookup: the value's cell (its float
     * bits, order-preserving, shifted) gives the bucket at the cell's start and the one midpoint
     * that may fall inside the cell; one comparison finishes. Cells holding two or more midpoints
     * (none for the 4- and 8-bit tables in use) fall back to the binary search. Same result as
     * {@link #index(float)} for every float in [-1, 1].
     *
     * @param v a value in [-1, 1]
     * @return the original index of the nearest code
     */
    int indexUnit(float v) {
        int cell = (sortableKey(v) >> SHIFT) - MIN_CELL;
        int p = cellPos[cell];
        if (p < 0) {
            return index(v);
        }
        p += v > cellThreshold[cell] ? 1 : 0;
        return sortedToIndex[p] & 0xFF;
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
