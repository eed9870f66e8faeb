package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import dev.peft4j.core.io.DType;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * AdamW as bitsandbytes' {@code AdamW8bit}, {@code PagedAdamW}, {@code PagedAdamW8bit} and {@code
 * AdamW32bit} compute it (its CUDA kernels {@code kOptimizerStatic8bit2StateBlockwise} and {@code
 * kOptimizer32bit2State}), in float32, per element {@code j} of a parameter at step {@code t}:
 *
 * <pre>
 * c1 = 1 − β1ᵗ ;  c2 = √(1 − β2ᵗ) ;  step = −lr·c2/c1
 * m = β1·m + (1 − β1)·g ;  v = β2·v + (1 − β2)·g²
 * p = p + step · m / (√v + c2·ε)            (= p − lr·(m/c1) / (√v/c2 + ε))
 * p = p · (1 − lr·wd)                        weight decay AFTER the Adam step, as bitsandbytes' CUDA
 *                                            kernels (torch.optim.AdamW and {@link AdamW} decay before)
 * </pre>
 *
 * <p><b>8-bit states</b> (parameters of at least {@link Builder#optMin8bitSize min8bitSize} =
 * 4,096 elements; smaller ones keep float32 states, as bitsandbytes): {@code m} and {@code v} are
 * stored as one byte each, codes of the signed and unsigned {@link DynamicQuantizationMap} scaled by
 * a float32 maximum per block of {@value #BLOCK_SIZE} elements. A step dequantizes a block ({@code
 * m = code1[q1]·absmax1}), updates it in float32, stores the new block maxima of {@code |m|} and
 * {@code v}, updates the parameter from the float32 values, and re-quantizes {@code m/absmax1} and
 * {@code v/absmax2} to the nearest code; when the code of {@code m} has the wrong sign (a small
 * negative rounded to +0) it moves one code towards the right sign. A block whose maximum is 0 gets
 * the zero code (the kernel's 0/0 gives another code that also decodes to 0). Memory: 2 bytes per
 * element + 8 bytes per block ≈ 2.03 bytes per parameter, against 8 for float32 states.
 *
 * <p><b>Non-finite gradients</b>: an element whose gradient is NaN or ±∞ leaves the parameter
 * untouched; with 8-bit states its {@code m} and {@code v} are reset to 0, with float32 states
 * they are left as they were (the two kernels differ so). The trainer stops on a non-finite
 * gradient norm before any update, so this matters to direct callers only.
 *
 * <p><b>Paged</b> ({@link Builder#optPaged}): the states live outside the Java heap, in direct
 * buffers or, with {@link Builder#optPagingDirectory}, in memory-mapped files there ({@link
 * StateStorage}), and are touched one parameter at a time during a step, so the operating system
 * can page out those of parameters not being updated. The update runs on the host: the parameter
 * and its gradient are read to host memory ({@code toFloatArray}), updated against the host-side
 * states, and written back; on a CUDA device this is how the states stay in host memory while the
 * parameter moves per step (bitsandbytes instead prefetches the unified-memory state to the GPU).
 * No GPU was available to run that path.
 *
 * <pre>{@code
 * ParameterOptimizer adam8 = BnbAdamW.builder().build();                  // AdamW8bit
 * ParameterOptimizer paged = BnbAdamW.builder().optPaged(true).build();   // PagedAdamW8bit
 * ParameterOptimizer paged32 = BnbAdamW.builder().optBits(32).optPaged(true).build(); // PagedAdamW
 * }</pre>
 */
public final class BnbAdamW implements ParameterOptimizer {

    /** Elements per quantization block (bitsandbytes' {@code BLOCKSIZE_2STATE}). */
    public static final int BLOCK_SIZE = 256;

    /** bitsandbytes' {@code min_8bit_size}: smaller parameters keep float32 states. */
    public static final int MIN_8BIT_SIZE = 4096;

    /** First moment: U8 codes (8-bit) or F32 values. */
    public static final String STATE1 = "state1";

    /** Second moment: U8 codes (8-bit) or F32 values. */
    public static final String STATE2 = "state2";

    /** Per-block maximum of |first moment| (8-bit only), F32. */
    public static final String ABSMAX1 = "absmax1";

    /** Per-block maximum of the second moment (8-bit only), F32. */
    public static final String ABSMAX2 = "absmax2";

    private static final int ZERO_SIGNED = 127;

    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final int bits;
    private final long min8bitSize;
    private final boolean paged;
    private final Path pagingDirectory;

    private BnbAdamW(Builder b) {
        this.beta1 = (float) b.beta1;
        this.beta2 = (float) b.beta2;
        this.eps = (float) b.eps;
        this.weightDecay = (float) b.weightDecay;
        this.bits = b.bits;
        this.min8bitSize = b.min8bitSize;
        this.paged = b.paged || b.pagingDirectory != null;
        this.pagingDirectory = b.pagingDirectory;
    }

    /** @return a builder of AdamW8bit with bitsandbytes' defaults (betas 0.9/0.999, ε 1e-8, wd 0.01) */
    public static Builder builder() {
        return new Builder();
    }

    /** @return {@code adamw-8bit}, {@code paged-adamw-8bit}, {@code paged-adamw} or {@code adamw-32bit} */
    @Override
    public String name() {
        if (bits == 8) {
            return paged ? "paged-adamw-8bit" : "adamw-8bit";
        }
        return paged ? "paged-adamw" : "adamw-32bit";
    }

    @Override
    public List<String> stateSlots() {
        return bits == 8 ? List.of(STATE1, STATE2, ABSMAX1, ABSMAX2) : List.of(STATE1, STATE2);
    }

    @Override
    public StateStorage stateStorage() {
        if (!paged) {
            return StateStorage.heap();
        }
        return pagingDirectory != null ? StateStorage.mapped(pagingDirectory) : StateStorage.offHeap();
    }

    /** @return 8 or 32 */
    public int bits() {
        return bits;
    }

    /**
     * @param elements a parameter's element count
     * @return whether its states are 8-bit
     */
    public boolean quantizes(long elements) {
        return bits == 8 && elements >= min8bitSize;
    }

    @Override
    public void update(String path, NDArray param, NDArray grad, double lr, OptimizerState state) {
        long n = param.size();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("parameter '" + path + "' has " + n + " elements, more than "
                    + name() + " updates in one piece");
        }
        float[] p = param.toFloatArray();
        float[] g = grad.toFloatArray();
        long[] shape = param.getShape().getShape();
        Coefficients c = new Coefficients(state.step(), (float) lr);
        if (quantizes(n)) {
            long blocks = (n + BLOCK_SIZE - 1) / BLOCK_SIZE;
            update8bit(p, g, c,
                    state.hostSlot(path, STATE1, DType.U8, shape),
                    state.hostSlot(path, STATE2, DType.U8, shape),
                    state.hostSlot(path, ABSMAX1, DType.F32, new long[] {blocks}).asFloatBuffer(),
                    state.hostSlot(path, ABSMAX2, DType.F32, new long[] {blocks}).asFloatBuffer());
        } else {
            update32bit(p, g, c,
                    state.hostSlot(path, STATE1, DType.F32, shape).asFloatBuffer(),
                    state.hostSlot(path, STATE2, DType.F32, shape).asFloatBuffer());
        }
        param.set(p);
    }

    /** The step's float32 constants, as the kernels compute them. */
    private final class Coefficients {
        final float lr;
        final float correction2;
        final float stepSize;
        final float decay;

        Coefficients(long t, float lr) {
            this.lr = lr;
            float correction1 = 1f - (float) Math.pow(beta1, t);
            this.correction2 = (float) Math.sqrt(1f - (float) Math.pow(beta2, t));
            this.stepSize = -lr * correction2 / correction1;
            this.decay = 1f - lr * weightDecay;
        }

        float apply(float p, float m, float v) {
            float out = p + stepSize * (m / ((float) Math.sqrt(v) + correction2 * eps));
            return weightDecay > 0 ? out * decay : out;
        }
    }

    private void update32bit(float[] p, float[] g, Coefficients c, FloatBuffer s1, FloatBuffer s2) {
        for (int j = 0; j < p.length; j++) {
            float gj = g[j];
            if (!Float.isFinite(gj)) {
                continue;
            }
            float m = s1.get(j) * beta1 + (1f - beta1) * gj;
            float v = s2.get(j) * beta2 + (1f - beta2) * (gj * gj);
            s1.put(j, m);
            s2.put(j, v);
            p[j] = c.apply(p[j], m, v);
        }
    }

    private void update8bit(float[] p, float[] g, Coefficients c, ByteBuffer q1, ByteBuffer q2,
            FloatBuffer absmax1, FloatBuffer absmax2) {
        float[] code1 = DynamicQuantizationMap.signedShared();
        float[] code2 = DynamicQuantizationMap.unsignedShared();
        float[] m = new float[BLOCK_SIZE];
        float[] v = new float[BLOCK_SIZE];
        for (int block = 0, start = 0; start < p.length; block++, start += BLOCK_SIZE) {
            int len = Math.min(BLOCK_SIZE, p.length - start);
            float scale1 = absmax1.get(block);
            float scale2 = absmax2.get(block);
            float max1 = 0;
            float max2 = 0;
            for (int k = 0; k < len; k++) {
                int j = start + k;
                float gj = g[j];
                if (Float.isFinite(gj)) {
                    m[k] = code1[q1.get(j) & 0xff] * scale1 * beta1 + (1f - beta1) * gj;
                    v[k] = code2[q2.get(j) & 0xff] * scale2 * beta2 + (1f - beta2) * (gj * gj);
                } else {
                    m[k] = 0f;
                    v[k] = 0f;
                }
                max1 = Math.max(max1, Math.abs(m[k]));
                max2 = Math.max(max2, v[k]);
            }
            absmax1.put(block, max1);
            absmax2.put(block, max2);
            for (int k = 0; k < len; k++) {
                int j = start + k;
                if (Float.isFinite(g[j])) {
                    p[j] = c.apply(p[j], m[k], v[k]);
                }
                q1.put(j, (byte) quantizeFirst(code1, m[k], max1));
                q2.put(j, (byte) (max2 == 0 ? 0 : DynamicQuantizationMap.quantize(code2, false, v[k] / max2)));
            }
        }
    }

    /** The signed code of {@code m}, with the kernel's sign fix. */
    static int quantizeFirst(float[] code1, float m, float absmax) {
        if (absmax == 0) {
            return ZERO_SIGNED;
        }
        int q = DynamicQuantizationMap.quantize(code1, true, m / absmax);
        if (signBit(code1[q]) != signBit(m)) {
            q += m > 0 ? 1 : -1;
        }
        return q;
    }

    private static boolean signBit(float x) {
        return Float.floatToRawIntBits(x) < 0;
    }

    @Override
    public String toString() {
        return "BnbAdamW(" + name() + ", betas=(" + beta1 + ", " + beta2 + "), eps=" + eps + ", weight_decay="
                + weightDecay + (bits == 8 ? ", min_8bit_size=" + min8bitSize : "") + ", storage=" + stateStorage()
                + ")";
    }

    /** Builder of {@link BnbAdamW}; every setting is optional. */
    public static final class Builder {
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay = 0.01;
        private int bits = 8;
        private long min8bitSize = MIN_8BIT_SIZE;
        private boolean paged;
        private Path pagingDirectory;

        private Builder() {}

        /**
         * @param beta1 first-moment decay in [0, 1), default 0.9
         * @param beta2 second-moment decay in [0, 1), default 0.999
         * @return this builder
         */
        public Builder optBetas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /**
         * @param eps denominator term, positive, default 1e-8
         * @return this builder
         */
        public Builder optEpsilon(double eps) {
            this.eps = eps;
            return this;
        }

        /**
         * @param weightDecay decoupled weight decay applied after the Adam step, not negative,
         *     default 0.01
         * @return this builder
         */
        public Builder optWeightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /**
         * @param bits 8 (quantized states, default) or 32 (float32 states)
         * @return this builder
         */
        public Builder optBits(int bits) {
            this.bits = bits;
            return this;
        }

        /**
         * @param min8bitSize parameters with fewer elements keep float32 states, not negative
         *     (default {@value BnbAdamW#MIN_8BIT_SIZE})
         * @return this builder
         */
        public Builder optMin8bitSize(long min8bitSize) {
            this.min8bitSize = min8bitSize;
            return this;
        }

        /**
         * @param paged whether the states live off the Java heap (direct buffers, or mapped files
         *     with {@link #optPagingDirectory}); default false
         * @return this builder
         */
        public Builder optPaged(boolean paged) {
            this.paged = paged;
            return this;
        }

        /**
         * @param directory paged states in memory-mapped files created (and at once unlinked) in
         *     this directory; implies {@link #optPaged}
         * @return this builder
         */
        public Builder optPagingDirectory(Path directory) {
            this.pagingDirectory = directory;
            return this;
        }

        /**
         * @return the optimizer
         * @throws IllegalArgumentException naming the invalid field
         */
        public BnbAdamW build() {
            if (!(beta1 >= 0 && beta1 < 1)) {
                throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
            }
            if (!(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("eps must be positive, got " + eps);
            }
            if (!(weightDecay >= 0)) {
                throw new IllegalArgumentException("weightDecay must not be negative, got " + weightDecay);
            }
            if (bits != 8 && bits != 32) {
                throw new IllegalArgumentException("bits must be 8 or 32, got " + bits);
            }
            if (min8bitSize < 0) {
                throw new IllegalArgumentException("min8bitSize must not be negative, got " + min8bitSize);
            }
            return new BnbAdamW(this);
        }
    }
}
