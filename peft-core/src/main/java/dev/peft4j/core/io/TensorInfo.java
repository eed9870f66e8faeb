package dev.peft4j.core.io;

import ai.djl.ndarray.types.Shape;

import java.util.Arrays;

/**
 * A tensor's entry in a checkpoint: name, element type, shape, and its byte range relative to the
 * start of the data section (safetensors' {@code data_offsets}).
 *
 * @param name the full (Hugging Face dotted) name
 * @param dtype the element type on disk
 * @param shape the dimensions; empty for a scalar
 * @param begin first byte, relative to the data section
 * @param end one past the last byte, relative to the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    /** Defensive copy of the shape. */
    public TensorInfo {
        shape = shape.clone();
    }

    /** @return the shape array (a copy) */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** @return the shape as a DJL {@link Shape} */
    public Shape djlShape() {
        return new Shape(shape);
    }

    /** @return the number of elements (1 for a scalar) */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** @return the number of bytes the tensor occupies on disk */
    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && name.equals(t.name)
                && dtype == t.dtype
                && Arrays.equals(shape, t.shape)
                && begin == t.begin
                && end == t.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
