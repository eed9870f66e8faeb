package dev.peft4j.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The largest absolute difference between two arrays of equal shape, for tolerance assertions. */
public final class ArrayDiff {

    private ArrayDiff() {}

    /**
     * @param a values
     * @param b values of the same length
     * @return {@code max |a[i] - b[i]|}, computed in double
     */
    public static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length, "array lengths");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - b[i]));
        }
        return max;
    }

    /**
     * @param a values
     * @param b reference values of the same length
     * @return {@code max |a[i] - b[i]|}
     */
    public static double maxAbsDiff(float[] a, double[] b) {
        assertEquals(a.length, b.length, "array lengths");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /**
     * @param a values
     * @param b values of the same length
     * @return {@code max |a[i] - b[i]|}
     */
    public static double maxAbsDiff(double[] a, double[] b) {
        assertEquals(a.length, b.length, "array lengths");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /**
     * @param a rows
     * @param b rows of the same lengths
     * @return the largest difference over all rows
     */
    public static double maxAbsDiff(float[][] a, float[][] b) {
        assertEquals(a.length, b.length, "row counts");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, maxAbsDiff(a[i], b[i]));
        }
        return max;
    }

    /**
     * Compares two arrays of the same shape as float32 on the host; creates no arrays that
     * outlive the call.
     *
     * @param a values
     * @param b values of the same shape
     * @return {@code max |a - b|}
     */
    public static double maxAbsDiff(NDArray a, NDArray b) {
        assertArrayEquals(a.getShape().getShape(), b.getShape().getShape(), "shapes");
        try (NDManager scratch = a.getManager().newSubManager()) {
            NDArray fa = a.toType(DataType.FLOAT32, true);
            NDArray fb = b.toType(DataType.FLOAT32, true);
            fa.attach(scratch);
            fb.attach(scratch);
            return maxAbsDiff(fa.toFloatArray(), fb.toFloatArray());
        }
    }
}
