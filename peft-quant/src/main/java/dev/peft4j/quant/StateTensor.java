package dev.peft4j.quant;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One entry of a state dict as it is stored: element type, shape and little-endian bytes. The
 * 4-bit serialization ({@link QuantStateDict}) reads and writes these.
 *
 * @param dtype the element type
 * @param shape the dimensions (copied)
 * @param data the bytes, little-endian, {@code numel * dtype.byteSize()} of them (copied)
 */
public record StateTensor(DType dtype, long[] shape, byte[] data) {

    /** Copies and validates. */
    public StateTensor {
        shape = shape.clone();
        data = data.clone();
        long numel = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            numel = Math.multiplyExact(numel, d);
        }
        if (numel * dtype.byteSize() != data.length) {
            throw new IllegalArgumentException(
                    String.format(
                            "%s%s needs %d bytes, got %d",
                            dtype, Arrays.toString(shape), numel * dtype.byteSize(),
                            data.length));
        }
    }

    /**
     * Reads one tensor's stored bytes from a checkpoint.
     *
     * @param source the checkpoint
     * @param name the tensor name
     * @return the tensor as stored
     * @throws IOException when the bytes cannot be read
     * @throws IllegalArgumentException when the source has no such tensor
     */
    public static StateTensor read(TensorSource source, String name) throws IOException {
        TensorInfo info = source.info(name);
        ByteBuffer raw = source.rawBytes(name);
        byte[] bytes = new byte[raw.remaining()];
        raw.duplicate().get(bytes);
        return new StateTensor(info.dtype(), info.shape(), bytes);
    }

    /**
     * @param shape the dimensions
     * @param values float32 values, row-major
     * @return an F32 tensor
     */
    public static StateTensor ofFloats(long[] shape, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return new StateTensor(DType.F32, shape, buf.array());
    }

    /**
     * @param shape the dimensions
     * @param bytes unsigned bytes, row-major
     * @return a U8 tensor
     */
    public static StateTensor ofBytes(long[] shape, byte[] bytes) {
        return new StateTensor(DType.U8, shape, bytes);
    }

    /** @return a copy of the shape */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** @return a copy of the bytes */
    @Override
    public byte[] data() {
        return data.clone();
    }

    /** @return the number of elements */
    public long numel() {
        return data.length / dtype.byteSize();
    }

    /**
     * @return the values of an F32 tensor
     * @throws IllegalStateException when the tensor is not F32
     */
    public float[] toFloats() {
        if (dtype != DType.F32) {
            throw new IllegalStateException("not an F32 tensor: " + dtype);
        }
        float[] out = new float[data.length / 4];
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StateTensor t
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return (dtype.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
