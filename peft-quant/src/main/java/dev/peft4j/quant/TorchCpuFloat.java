package dev.peft4j.quant;

/**
 * Float32 arithmetic that reproduces, bit for bit, what PyTorch's CPU kernels compute where the
 * order of operations matters: {@code torch.linspace} and {@code torch.sum}/{@code torch.mean} of a
 * float32 vector. Both follow PyTorch 2.x built for AVX2 (8 float lanes), which is what produced
 * the bitsandbytes reference fixtures.
 *
 * <p>Scalar {@code a + b * c} expressions inside those kernels are compiled to fused multiply-adds,
 * which {@link Math#fma(float, float, float)} reproduces; Java itself never fuses.
 */
final class TorchCpuFloat {

    /** Float lanes of an AVX2 {@code Vectorized<float>}. */
    static final int LANES = 8;
    /** Independent vector accumulators in {@code row_sum} ({@code ilp_factor}). */
    private static final int ILP = 4;
    /** Levels of the cascade in {@code multi_row_sum}. */
    private static final int LEVELS = 4;

    private TorchCpuFloat() {}

    /**
     * {@code torch.linspace(start, end, steps, dtype=torch.float32)} on the CPU.
     *
     * <p>The kernel computes {@code start + step * i} for the first half and {@code end - step *
     * (steps - i - 1)} for the second (both fused), but in vectorized chunks of two vectors only
     * the first lane of each vector is computed that way; the others are {@code base + k * step}
     * (not fused). A tail shorter than two vectors is computed element by element.
     *
     * @param start first value
     * @param end last value
     * @param steps number of values, at least 2
     * @return the values
     */
    static float[] linspace(float start, float end, int steps) {
        if (steps < 2) {
            throw new IllegalArgumentException("linspace needs at least 2 steps, got " + steps);
        }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        float[] out = new float[steps];
        int i = 0;
        for (; i + 2 * LANES <= steps; i += 2 * LANES) {
            for (int v = i; v < i + 2 * LANES; v += LANES) {
                float base = linspaceScalar(start, end, step, steps, halfway, v);
                for (int k = 0; k < LANES; k++) {
                    out[v + k] = base + k * step;
                }
            }
        }
        for (; i < steps; i++) {
            out[i] = linspaceScalar(start, end, step, steps, halfway, i);
        }
        return out;
    }

    private static float linspaceScalar(
            float start, float end, float step, int steps, int halfway, int idx) {
        if (idx < halfway) {
            return Math.fma(step, (float) idx, start);
        }
        return Math.fma(-step, (float) (steps - idx - 1), end);
    }

    /**
     * {@code torch.mean(x)} of a contiguous float32 vector on the CPU: the float32 cascade sum of
     * {@code SumKernel.cpp} divided by the count.
     *
     * <p>Exact for fewer than 32768 values (PyTorch's grain size); above that PyTorch splits the
     * sum across its threads, so its own result depends on the thread count, and this is the
     * single-threaded result.
     *
     * @param x the values, not empty
     * @return the mean
     */
    static float mean(float[] x) {
        return sum(x) / x.length;
    }

    /**
     * {@code torch.sum(x)} of a contiguous float32 vector on the CPU (see {@link #mean}).
     *
     * <p>With at least 8 values PyTorch sums whole vectors ({@code vectorized_inner_sum}), adds the
     * scalar tail and then the 8 lanes; with fewer it runs the same cascade over single values
     * ({@code scalar_inner_sum}).
     *
     * @param x the values
     * @return the sum
     */
    static float sum(float[] x) {
        int n = x.length;
        if (n < LANES) {
            return rowSum(x, n, 1)[0];
        }
        int vectors = n / LANES;
        float[] lanes = rowSum(x, vectors, LANES);
        float acc = 0f;
        for (int k = vectors * LANES; k < n; k++) {
            acc += x[k];
        }
        for (int l = 0; l < LANES; l++) {
            acc += lanes[l];
        }
        return acc;
    }

    /**
     * {@code row_sum}: {@code count} items of {@code width} lanes each, viewed as rows of {@code
     * ILP} items, summed by multi_row_sum; the leftover items go to the first accumulator.
     */
    private static float[] rowSum(float[] x, int count, int width) {
        int rows = count / ILP;
        float[][] partial = multiRowSum(x, rows, width);
        float[] p0 = partial[0];
        for (int v = rows * ILP; v < count; v++) {
            add(p0, x, v * width);
        }
        for (int k = 1; k < ILP; k++) {
            for (int l = 0; l < width; l++) {
                p0[l] += partial[k][l];
            }
        }
        return p0;
    }

    /** {@code multi_row_sum} with {@code nrows = ILP} item columns and 4 cascade levels. */
    private static float[][] multiRowSum(float[] x, int rows, int width) {
        int levelPower = Math.max(4, ceilLog2(rows) / LEVELS);
        int levelStep = 1 << levelPower;
        long levelMask = levelStep - 1L;
        float[][][] acc = new float[LEVELS][ILP][width];
        int i = 0;
        while (i + levelStep <= rows) {
            for (int j = 0; j < levelStep; j++, i++) {
                for (int k = 0; k < ILP; k++) {
                    add(acc[0][k], x, (i * ILP + k) * width);
                }
            }
            for (int j = 1; j < LEVELS; j++) {
                for (int k = 0; k < ILP; k++) {
                    for (int l = 0; l < width; l++) {
                        acc[j][k][l] += acc[j - 1][k][l];
                        acc[j - 1][k][l] = 0f;
                    }
                }
                long mask = levelMask << (j * levelPower);
                if ((i & mask) != 0) {
                    break;
                }
            }
        }
        for (; i < rows; i++) {
            for (int k = 0; k < ILP; k++) {
                add(acc[0][k], x, (i * ILP + k) * width);
            }
        }
        for (int j = 1; j < LEVELS; j++) {
            for (int k = 0; k < ILP; k++) {
                for (int l = 0; l < width; l++) {
                    acc[0][k][l] += acc[j][k][l];
                }
            }
        }
        return acc[0];
    }

    private static void add(float[] acc, float[] x, int offset) {
        for (int l = 0; l < acc.length; l++) {
            acc[l] += x[offset + l];
        }
    }

    /** ATen's {@code CeilLog2}: 1 for values up to 2, else ceil(log2(v)). */
    private static int ceilLog2(long v) {
        return v <= 2 ? 1 : 64 - Long.numberOfLeadingZeros(v - 1);
    }
}
