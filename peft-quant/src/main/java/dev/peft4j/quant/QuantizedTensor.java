package dev.peft4j.quant;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A 4-bit quantized tensor: the packed codes (two per byte, the first value in the high nibble,
 * one zero code of padding when the count is odd) and the {@link QuantState} that dequantizes them.
 *
 * <p>Immutable. The packed bytes are copied in; {@link #packedBuffer()} exposes them without a
 * copy, read-only.
 */
public final class QuantizedTensor {

    private final byte[] packed;
    private final QuantState state;

    /**
     * @param packed {@code ceil(numel / 2)} bytes (copied)
     * @param state the quantization state
     * @throws IllegalArgumentException when the byte count does not match the state's shape
     */
    public QuantizedTensor(byte[] packed, QuantState state) {
        this(state, packed.clone());
    }

    /** Takes ownership of {@code packed} (no copy). */
    private QuantizedTensor(QuantState state, byte[] packed) {
        Objects.requireNonNull(state, "state");
        if (packed.length != state.packedSize()) {
            throw new IllegalArgumentException(
                    String.format(
                            "packed data must hold %d bytes for %d values, got %d",
                            state.packedSize(), state.numel(), packed.length));
        }
        this.packed = packed;
        this.state = state;
    }

    /**
     * Wraps bytes without copying them; for the quantizer and the state-dict reader, which hand
     * over arrays nobody else holds.
     */
    static QuantizedTensor wrap(byte[] packed, QuantState state) {
        return new QuantizedTensor(state, packed);
    }

    /** @return a copy of the packed bytes */
    public byte[] packed() {
        return packed.clone();
    }

    /** @return the packed bytes, read-only, without a copy */
    public ByteBuffer packedBuffer() {
        return ByteBuffer.wrap(packed).asReadOnlyBuffer();
    }

    /** @return the quantization state */
    public QuantState state() {
        return state;
    }

    /**
     * @param i index of a value in row-major order
     * @return its 4-bit code
     */
    public int code(long i) {
        int b = packed[Math.toIntExact(i >>> 1)];
        return (i & 1) == 0 ? (b >>> 4) & 0xF : b & 0xF;
    }

    /** Package access to the bytes without a copy. */
    byte[] packedArray() {
        return packed;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedTensor t
                && Arrays.equals(packed, t.packed)
                && state.equals(t.state);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(packed) * 31 + state.hashCode();
    }

    @Override
    public String toString() {
        return "QuantizedTensor[" + state + "]";
    }
}
