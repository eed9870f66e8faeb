package dev.peft4j.quant;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything besides the packed codes that is needed to dequantize a 4-bit tensor: the quant type,
 * the block size, the original shape and dtype, and the per-block scales, either as float32
 * ({@link #absmax()}) or double-quantized ({@link #nested()}). Mirrors bitsandbytes' {@code
 * QuantState}.
 *
 * <p>Immutable; build with {@link #builder()}.
 */
public final class QuantState {

    /** The original dtypes bitsandbytes quantizes, by their torch names. */
    public static final List<String> DTYPES = List.of("float32", "float16", "bfloat16");

    private final QuantType quantType;
    private final int blocksize;
    private final long[] shape;
    private final long numel;
    private final String dtype;
    private final float[] absmax;
    private final NestedAbsmax nested;

    private QuantState(Builder b) {
        quantType = b.quantType;
        blocksize = b.blocksize;
        shape = b.shape;
        numel = b.numel;
        dtype = b.dtype;
        absmax = b.absmax;
        nested = b.nested;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return NF4 or FP4 */
    public QuantType quantType() {
        return quantType;
    }

    /** @return values per block */
    public int blocksize() {
        return blocksize;
    }

    /** @return a copy of the original shape */
    public long[] shape() {
        return shape.clone();
    }

    /** @return the number of values (the product of the shape) */
    public long numel() {
        return numel;
    }

    /** @return the number of blocks, {@code ceil(numel / blocksize)} */
    public int blockCount() {
        return Blocksizes.blockCount(numel, blocksize);
    }

    /** @return the number of packed bytes, {@code ceil(numel / 2)} */
    public long packedSize() {
        return (numel + 1) / 2;
    }

    /** @return the original dtype's torch name, e.g. {@code "float32"} */
    public String dtype() {
        return dtype;
    }

    /** @return whether the block scales are double-quantized */
    public boolean isDoubleQuant() {
        return nested != null;
    }

    /** @return a copy of the float32 block scales, empty when they are double-quantized */
    public Optional<float[]> absmax() {
        return Optional.ofNullable(absmax).map(float[]::clone);
    }

    /** @return the double-quantized block scales, empty when they are plain float32 */
    public Optional<NestedAbsmax> nested() {
        return Optional.ofNullable(nested);
    }

    /**
     * The float32 absmax of every block: the stored values, or the dequantized nested ones.
     *
     * @return one scale per block
     */
    public float[] blockAbsmax() {
        return nested != null ? nested.dequantize() : absmax.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantState s
                && quantType == s.quantType
                && blocksize == s.blocksize
                && Arrays.equals(shape, s.shape)
                && dtype.equals(s.dtype)
                && Arrays.equals(absmax, s.absmax)
                && Objects.equals(nested, s.nested);
    }

    @Override
    public int hashCode() {
        return Objects.hash(quantType, blocksize, Arrays.hashCode(shape), dtype, nested);
    }

    @Override
    public String toString() {
        return "QuantState[" + quantType.bnbName() + ", blocksize=" + blocksize + ", shape="
                + Arrays.toString(shape) + ", dtype=" + dtype + ", doubleQuant="
                + isDoubleQuant() + "]";
    }

    /** Builder: quant type, block size, shape and exactly one form of absmax are required. */
    public static final class Builder {

        private QuantType quantType;
        private int blocksize;
        private long[] shape;
        private long numel;
        private String dtype = "float32";
        private float[] absmax;
        private NestedAbsmax nested;

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
         * @param blocksize values per block: 32, 64, ..., 4096
         * @return this builder
         */
        public Builder setBlocksize(int blocksize) {
            this.blocksize = blocksize;
            return this;
        }

        /**
         * @param shape the original shape (copied); empty for a scalar
         * @return this builder
         */
        public Builder setShape(long... shape) {
            this.shape = shape.clone();
            return this;
        }

        /**
         * @param dtype the original dtype's torch name, one of {@link #DTYPES}; default {@code
         *     "float32"}
         * @return this builder
         */
        public Builder optDtype(String dtype) {
            this.dtype = dtype;
            return this;
        }

        /**
         * Sets plain float32 block scales (clears nested ones).
         *
         * @param absmax one scale per block (copied)
         * @return this builder
         */
        public Builder setAbsmax(float[] absmax) {
            this.absmax = absmax.clone();
            this.nested = null;
            return this;
        }

        /**
         * Sets double-quantized block scales (clears plain ones).
         *
         * @param nested the nested state
         * @return this builder
         */
        public Builder setNested(NestedAbsmax nested) {
            this.nested = nested;
            this.absmax = null;
            return this;
        }

        /**
         * @return the state
         * @throws IllegalArgumentException when a required value is missing or sizes disagree
         */
        public QuantState build() {
            if (quantType == null) {
                throw new IllegalArgumentException("quant type is required");
            }
            Blocksizes.check(blocksize, "blocksize");
            if (shape == null) {
                throw new IllegalArgumentException("shape is required");
            }
            numel = numel(shape);
            if (!DTYPES.contains(dtype)) {
                throw new IllegalArgumentException(
                        "dtype must be one of " + DTYPES + ", got '" + dtype + "'");
            }
            int blocks = Blocksizes.blockCount(numel, blocksize);
            if (absmax == null && nested == null) {
                throw new IllegalArgumentException("absmax (plain or nested) is required");
            }
            int got = absmax != null ? absmax.length : nested.size();
            if (got != blocks) {
                throw new IllegalArgumentException(
                        String.format(
                                "absmax must hold %d values (%d values in blocks of %d), got %d",
                                blocks, numel, blocksize, got));
            }
            if (absmax != null) {
                Blocksizes.checkFinite(absmax, "absmax");
            }
            return new QuantState(this);
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
            if (n == 0) {
                throw new IllegalArgumentException(
                        "cannot quantize an empty tensor, shape " + Arrays.toString(shape));
            }
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(
                        "tensor too large for one array: " + n + " values, shape "
                                + Arrays.toString(shape));
            }
            return n;
        }
    }
}
