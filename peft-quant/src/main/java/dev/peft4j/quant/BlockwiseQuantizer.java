package dev.peft4j.quant;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Blockwise 4-bit quantization, bit-identical to bitsandbytes' pure-PyTorch {@code
 * quantize_4bit} (with {@code compress_statistics} for double quantization).
 *
 * <p>The values are taken in row-major order in blocks of {@code blocksize}; each block is scaled
 * by its absmax (at least {@code 1e-38}) into [-1, 1] and every value is replaced by the index of
 * the nearest code (a value exactly between two codes gets the lower one). All arithmetic is
 * float32 in the reference's order: full blocks multiply by the float32 reciprocal {@code 1 /
 * absmax}, the trailing partial block divides by its absmax; both clamp to [-1, 1]. Codes are
 * packed two per byte, the first in the high nibble; an odd count is padded with the code of 0.
 *
 * <p>With double quantization the block scales are themselves quantized: their mean {@code offset}
 * (computed as {@code torch.mean} does) is subtracted and the result quantized blockwise (256 per
 * block, same rules) to 8 bits against {@link DynamicMap#signed8Bit()}.
 *
 * <p>Immutable and thread-safe; build with {@link #builder()}. The hot loop allocates nothing per
 * value and finds codes by table lookup ({@code CodeBook}). Tensors of {@value #PARALLEL_MIN} values
 * or more are split into chunks of whole blocks quantized in parallel on the common fork-join
 * pool; blocks are independent, so the result is the same.
 */
public final class BlockwiseQuantizer {

    private static final Logger LOG = LoggerFactory.getLogger(BlockwiseQuantizer.class);

    /** bitsandbytes' block size for the second quantization of the block scales. */
    public static final int NESTED_BLOCKSIZE = 256;

    /** Tensors with at least this many values are quantized on several threads. */
    static final int PARALLEL_MIN = 1 << 20;

    /** Chunks of blocks a large tensor is split into (the common fork-join pool runs them). */
    private static final int PARALLEL_CHUNKS = 64;

    /** Lower bound of a block's absmax, so that all-zero blocks scale to 0 instead of NaN. */
    static final float MIN_ABSMAX = 1e-38f;

    private static final CodeBook NESTED_CODE = new CodeBook(DynamicMap.signed8Bit());

    private final QuantType quantType;
    private final int blocksize;
    private final boolean doubleQuant;
    private final String dtype;

    private BlockwiseQuantizer(Builder b) {
        quantType = b.quantType;
        blocksize = b.blocksize;
        doubleQuant = b.doubleQuant;
        dtype = b.dtype;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * One-off quantization of float32 values.
     *
     * @param values the values in row-major order
     * @param shape their shape
     * @param quantType NF4 or FP4
     * @param blocksize 32, 64, ..., 4096
     * @param doubleQuant whether to quantize the block scales too
     * @return the quantized tensor
     * @throws IllegalArgumentException on a bad argument or a non-finite value
     */
    public static QuantizedTensor quantize(
            float[] values, long[] shape, QuantType quantType, int blocksize,
            boolean doubleQuant) {
        return builder()
                .setQuantType(quantType)
                .optBlocksize(blocksize)
                .optDoubleQuant(doubleQuant)
                .build()
                .quantize(values, shape);
    }

    /** @return the 4-bit data type */
    public QuantType quantType() {
        return quantType;
    }

    /** @return values per block */
    public int blocksize() {
        return blocksize;
    }

    /** @return whether block scales are double-quantized */
    public boolean isDoubleQuant() {
        return doubleQuant;
    }

    /** @return the original dtype recorded in the state */
    public String dtype() {
        return dtype;
    }

    /**
     * Quantizes float32 values.
     *
     * @param values the values in row-major order (float32, or float16/bfloat16 values widened)
     * @param shape their shape; its product must equal {@code values.length}
     * @return the quantized tensor
     * @throws IllegalArgumentException when the shape does not match or a value is NaN or infinite
     */
    public QuantizedTensor quantize(float[] values, long... shape) {
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(shape, "shape");
        long expected = numel(shape);
        if (expected != values.length) {
            throw new IllegalArgumentException(
                    String.format(
                            "shape %s holds %d values, got %d",
                            Arrays.toString(shape), expected, values.length));
        }
        if (values.length == 0) {
            throw new IllegalArgumentException("cannot quantize an empty tensor");
        }
        float[] absmax = new float[Blocksizes.blockCount(values.length, blocksize)];
        byte[] packed = new byte[(values.length + 1) / 2];
        CodeBook code = quantType.codeBook();
        if (values.length < PARALLEL_MIN) {
            absmax(values, blocksize, absmax, 0, absmax.length, "input");
            pack4(values, absmax, blocksize, code, packed, 0, absmax.length);
        } else {
            int chunks = Math.min(absmax.length, PARALLEL_CHUNKS);
            try {
                IntStream.range(0, chunks).parallel().forEach(c -> {
                    int b0 = (int) ((long) absmax.length * c / chunks);
                    int b1 = (int) ((long) absmax.length * (c + 1) / chunks);
                    absmax(values, blocksize, absmax, b0, b1, "input");
                    pack4(values, absmax, blocksize, code, packed, b0, b1);
                });
            } catch (IllegalArgumentException e) {
                // report the first non-finite value, whichever chunk failed first
                absmax(values, blocksize, absmax, 0, absmax.length, "input");
                throw e;
            }
        }
        QuantState.Builder state =
                QuantState.builder()
                        .setQuantType(quantType)
                        .setBlocksize(blocksize)
                        .setShape(shape)
                        .optDtype(dtype);
        if (doubleQuant) {
            state.setNested(quantizeAbsmax(absmax));
        } else {
            state.setAbsmax(absmax);
        }
        if (LOG.isDebugEnabled()) {
            LOG.debug(
                    "quantized {} values {} to {} (blocksize {}, double quant {})",
                    values.length, Arrays.toString(shape), quantType, blocksize, doubleQuant);
        }
        return QuantizedTensor.wrap(packed, state.build());
    }

    /**
     * The second quantization: {@code absmax - mean(absmax)} to 8 bits in blocks of 256.
     *
     * @param absmax the 4-bit block scales
     * @return the nested state
     */
    static NestedAbsmax quantizeAbsmax(float[] absmax) {
        float offset = TorchCpuFloat.mean(absmax);
        if (!Float.isFinite(offset)) {
            throw new IllegalArgumentException(
                    "the mean of the block absmax overflows float32 (" + offset
                            + "); values this large cannot be double-quantized");
        }
        float[] centered = new float[absmax.length];
        for (int i = 0; i < absmax.length; i++) {
            centered[i] = absmax[i] - offset;
        }
        float[] absmax2 = absmax(centered, NESTED_BLOCKSIZE, "centered absmax");
        byte[] codes = new byte[centered.length];
        int n = centered.length;
        for (int b = 0; b < absmax2.length; b++) {
            int start = b * NESTED_BLOCKSIZE;
            int end = Math.min(n, start + NESTED_BLOCKSIZE);
            float a = absmax2[b];
            boolean full = end - start == NESTED_BLOCKSIZE;
            float r = 1f / a;
            for (int i = start; i < end; i++) {
                codes[i] = (byte) NESTED_CODE.indexUnit(scale(centered[i], a, r, full));
            }
        }
        return new NestedAbsmax(
                codes, absmax2, NESTED_CODE.values(), offset, NESTED_BLOCKSIZE);
    }

    /**
     * Per-block absmax, at least {@link #MIN_ABSMAX}, checking that every value is finite.
     *
     * @param x the values
     * @param bs block size
     * @param what what the values are, for the message
     * @return one absmax per block, the last one for a possibly partial block
     */
    static float[] absmax(float[] x, int bs, String what) {
        float[] out = new float[Blocksizes.blockCount(x.length, bs)];
        absmax(x, bs, out, 0, out.length, what);
        return out;
    }

    /** {@link #absmax(float[], int, String)} of blocks {@code [b0, b1)} into {@code out}. */
    private static void absmax(float[] x, int bs, float[] out, int b0, int b1, String what) {
        int n = x.length;
        for (int b = b0; b < b1; b++) {
            int start = b * bs;
            int end = Math.min(n, start + bs);
            float m = 0f;
            for (int i = start; i < end; i++) {
                float a = Math.abs(x[i]);
                if (!(a <= Float.MAX_VALUE)) {
                    throw new IllegalArgumentException(
                            what + " contains a non-finite value at index " + i + ": " + x[i]);
                }
                m = a > m ? a : m;
            }
            out[b] = Math.max(m, MIN_ABSMAX);
        }
    }

    /** Scales into [-1, 1]: by the reciprocal in a full block, by true division otherwise. */
    private static float scale(float x, float absmax, float reciprocal, boolean fullBlock) {
        return clamp(fullBlock ? x * reciprocal : x / absmax);
    }

    /**
     * Quantizes and packs blocks {@code [b0, b1)}; blocks start at even indices because every
     * block size is even.
     */
    private static void pack4(
            float[] x, float[] absmax, int bs, CodeBook code, byte[] packed, int b0, int b1) {
        int n = x.length;
        int padCode = code.indexUnit(0f);
        for (int b = b0; b < b1; b++) {
            int start = b * bs;
            int end = Math.min(n, start + bs);
            float a = absmax[b];
            float r = 1f / a;
            boolean full = end - start == bs;
            int i = start;
            if (full) {
                for (; i < end; i += 2) {
                    int hi = code.indexUnit(clamp(x[i] * r));
                    int lo = code.indexUnit(clamp(x[i + 1] * r));
                    packed[i >>> 1] = (byte) (hi << 4 | lo);
                }
            } else {
                for (; i + 1 < end; i += 2) {
                    int hi = code.indexUnit(clamp(x[i] / a));
                    int lo = code.indexUnit(clamp(x[i + 1] / a));
                    packed[i >>> 1] = (byte) (hi << 4 | lo);
                }
                if (i < end) {
                    packed[i >>> 1] = (byte) (code.indexUnit(clamp(x[i] / a)) << 4 | padCode);
                }
            }
        }
    }

    private static float clamp(float s) {
        return s > 1f ? 1f : (s < -1f ? -1f : s);
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(
                        "shape has a negative dimension: " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Builder: the quant type is required; block size (64) and double quant (off) optional. */
    public static final class Builder {

        private QuantType quantType;
        private int blocksize = 64;
        private boolean doubleQuant;
        private String dtype = "float32";

        private Builder() {}

        /**
         * @param quantType NF4 or FP4
         * @return this builder
         */
        public Builder setQuantType(QuantType quantType) {
            this.quantType = quantType;
            return this;
        }

        /**
         * @param blocksize values per block: 32, 64 (default), 128, ..., 4096
         * @return this builder
         */
        public Builder optBlocksize(int blocksize) {
            this.blocksize = blocksize;
            return this;
        }

        /**
         * @param doubleQuant whether to quantize the block scales to 8 bits (default false)
         * @return this builder
         */
        public Builder optDoubleQuant(boolean doubleQuant) {
            this.doubleQuant = doubleQuant;
            return this;
        }

        /**
         * @param dtype the original dtype to record, one of {@link QuantState#DTYPES} (default
         *     {@code "float32"}); the values themselves are always given as float32
         * @return this builder
         */
        public Builder optDtype(String dtype) {
            this.dtype = dtype;
            return this;
        }

        /**
         * @return the quantizer
         * @throws IllegalArgumentException when the quant type is missing or a value is invalid
         */
        public BlockwiseQuantizer build() {
            if (quantType == null) {
                throw new IllegalArgumentException("quant type is required");
            }
            Blocksizes.check(blocksize, "blocksize");
            if (!QuantState.DTYPES.contains(dtype)) {
                throw new IllegalArgumentException(
                        "dtype must be one of " + QuantState.DTYPES + ", got '" + dtype + "'");
            }
            return new BlockwiseQuantizer(this);
        }
    }
}
