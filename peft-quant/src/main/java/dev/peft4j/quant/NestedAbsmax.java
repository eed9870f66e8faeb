package dev.peft4j.quant;

import java.util.Arrays;

/**
 * Block scales stored with double quantization: each 4-bit block's absmax, minus {@code offset},
 * quantized blockwise to 8 bits against a 256-value code table. The absmax of block {@code b} is
 * {@code code[codes[b] & 0xFF] * absmax[b / blocksize] + offset}, in float32.
 *
 * <p>Immutable; arrays are copied in and out.
 */
public final class NestedAbsmax {

    private final byte[] codes;
    private final float[] absmax;
    private final float[] code;
    private final float offset;
    private final int blocksize;

    /**
     * @param codes one 8-bit code per 4-bit block (bitsandbytes' U8 {@code absmax})
     * @param absmax one float32 scale per block of {@code blocksize} codes ({@code nested_absmax})
     * @param code the 256-value code table ({@code nested_quant_map})
     * @param offset the mean that was subtracted before quantizing ({@code nested_offset})
     * @param blocksize codes per nested block ({@code nested_blocksize}, 256 in bitsandbytes)
     * @throws IllegalArgumentException when sizes do not agree or a value is not finite
     */
    public NestedAbsmax(byte[] codes, float[] absmax, float[] code, float offset, int blocksize) {
        Blocksizes.check(blocksize, "nested blocksize");
        if (codes.length == 0) {
            throw new IllegalArgumentException("nested absmax needs at least one code");
        }
        if (code.length != 256) {
            throw new IllegalArgumentException(
                    "nested quant map must hold 256 values, got " + code.length);
        }
        int blocks = Blocksizes.blockCount(codes.length, blocksize);
        if (absmax.length != blocks) {
            throw new IllegalArgumentException(
                    String.format(
                            "nested absmax must hold %d values (%d codes in blocks of %d), got %d",
                            blocks, codes.length, blocksize, absmax.length));
        }
        Blocksizes.checkFinite(absmax, "nested absmax");
        Blocksizes.checkFinite(code, "nested quant map");
        if (!Float.isFinite(offset)) {
            throw new IllegalArgumentException("nested offset is not finite: " + offset);
        }
        this.codes = codes.clone();
        this.absmax = absmax.clone();
        this.code = code.clone();
        this.offset = offset;
        this.blocksize = blocksize;
    }

    /** @return a copy of the 8-bit codes, one per 4-bit block */
    public byte[] codes() {
        return codes.clone();
    }

    /** @return a copy of the nested scales, one per {@link #blocksize()} codes */
    public float[] absmax() {
        return absmax.clone();
    }

    /** @return a copy of the 256-value code table */
    public float[] code() {
        return code.clone();
    }

    /** @return the offset added back after dequantization */
    public float offset() {
        return offset;
    }

    /** @return codes per nested block */
    public int blocksize() {
        return blocksize;
    }

    /** @return the number of 4-bit blocks whose absmax this holds */
    public int size() {
        return codes.length;
    }

    /**
     * Dequantizes the block scales: {@code code[q] * absmax[block] + offset}, in float32 (multiply,
     * round, add, round; no fused multiply-add).
     *
     * @return one absmax per 4-bit block
     */
    public float[] dequantize() {
        float[] out = new float[codes.length];
        for (int i = 0; i < codes.length; i++) {
            out[i] = code[codes[i] & 0xFF] * absmax[i / blocksize] + offset;
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NestedAbsmax n
                && blocksize == n.blocksize
                && Float.floatToIntBits(offset) == Float.floatToIntBits(n.offset)
                && Arrays.equals(codes, n.codes)
                && Arrays.equals(absmax, n.absmax)
                && Arrays.equals(code, n.code);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codes) * 31 + Float.hashCode(offset);
    }

    @Override
    public String toString() {
        return "NestedAbsmax[blocks=" + codes.length + ", blocksize=" + blocksize + ", offset="
                + offset + "]";
    }
}
