package dev.peft4j.quant;

/** Validation shared by the quantizer and the quantization state: block sizes, counts, values. */
final class Blocksizes {

    /** Smallest block size bitsandbytes accepts for 4-bit quantization. */
    static final int MIN = 32;
    /** Largest block size bitsandbytes accepts. */
    static final int MAX = 4096;

    private Blocksizes() {}

    /**
     * @param blocksize a block size
     * @param what what it is, for the message
     * @throws IllegalArgumentException unless it is one of 32, 64, ..., 4096
     */
    static void check(int blocksize, String what) {
        if (blocksize < MIN || blocksize > MAX || Integer.bitCount(blocksize) != 1) {
            throw new IllegalArgumentException(
                    what + " must be one of 32, 64, 128, 256, 512, 1024, 2048, 4096, got "
                            + blocksize);
        }
    }

    /** @return {@code ceil(n / blocksize)} */
    static int blockCount(long n, int blocksize) {
        return Math.toIntExact((n + blocksize - 1) / blocksize);
    }

    /**
     * @param values values to check
     * @param what what they are, for the message
     * @throws IllegalArgumentException naming the first NaN or infinite value and its index
     */
    static void checkFinite(float[] values, String what) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new IllegalArgumentException(
                        what + " contains a non-finite value at index " + i + ": " + values[i]);
            }
        }
    }
}
