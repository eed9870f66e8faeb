package dev.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;

/**
 * Turns a tensor's little-endian bytes into an NDArray. Direct, aligned bytes of a type DJL handles
 * are wrapped without copying; BF16 and I16 are converted in Java (DJL's PyTorch engine aborts the
 * JVM on BF16 and INT16 arrays, so such an array is never created).
 */
final class TensorDecoder {

    private static final boolean LITTLE_ENDIAN_HOST =
            ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private TensorDecoder() {}

    /**
     * The DJL type a tensor of {@code dtype} loads as.
     *
     * @param dtype the stored type
     * @param bf16Target FLOAT32, FLOAT16 or null (FLOAT32); only used for BF16
     * @return the loaded type
     */
    static DataType targetType(DType dtype, DataType bf16Target) {
        if (dtype != DType.BF16) {
            return dtype.djlType();
        }
        if (bf16Target == null || bf16Target == DataType.FLOAT32) {
            return DataType.FLOAT32;
        }
        if (bf16Target == DataType.FLOAT16) {
            return DataType.FLOAT16;
        }
        throw new IllegalArgumentException(
                "BF16 can only be loaded as FLOAT32 or FLOAT16, not " + bf16Target);
    }

    /**
     * Creates the array. When {@code bytes} is direct, writable and aligned and no conversion is
     * needed, the array wraps it (the array keeps a reference to the buffer); otherwise the data
     * is converted or copied into a new direct buffer.
     *
     * @param bytes the stored bytes, exactly the tensor's size
     * @param dtype the stored type
     * @param shape the shape
     * @param target the loaded type, from {@link #targetType}
     * @param manager owner of the new array
     * @return the array
     */
    static NDArray decode(
            ByteBuffer bytes, DType dtype, Shape shape, DataType target, NDManager manager) {
        ByteBuffer src = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int count = Math.toIntExact(shape.size());
        ByteBuffer dst;
        if (dtype == DType.BF16) {
            dst = allocate(Math.multiplyExact(count, target.getNumOfBytes()));
            convertBf16(src.asShortBuffer(), dst, target, count);
        } else if (dtype == DType.I16) {
            dst = allocate(Math.multiplyExact(count, 4));
            widenI16(src.asShortBuffer(), dst.asIntBuffer(), count);
        } else if (canWrap(src, dtype)) {
            dst = src;
        } else {
            dst = allocate(src.remaining());
            copyElements(src, dst, dtype.byteSize());
        }
        return manager.create(dst, shape, target);
    }

    private static boolean canWrap(ByteBuffer src, DType dtype) {
        return LITTLE_ENDIAN_HOST
                && src.isDirect()
                && !src.isReadOnly()
                && src.alignmentOffset(0, dtype.byteSize()) == 0;
    }

    /** A new native-order direct buffer aligned to 8 bytes. */
    static ByteBuffer allocate(int size) {
        return ByteBuffer.allocateDirect(size + 8)
                .alignedSlice(8)
                .limit(size)
                .slice()
                .order(ByteOrder.nativeOrder());
    }

    /**
     * Converts a chunk of BF16 or I16 elements into part of a decoded buffer, for files read in
     * pieces.
     *
     * @param src little-endian stored bytes of {@code count} elements
     * @param dtype BF16 or I16
     * @param dst the native-order destination of the whole tensor
     * @param at the index of the chunk's first element in {@code dst}
     * @param count the elements in the chunk
     * @param target the loaded type, from {@link #targetType}
     */
    static void convertInto(ByteBuffer src, DType dtype, ByteBuffer dst, int at, int count, DataType target) {
        ShortBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        if (dtype == DType.I16) {
            IntBuffer out = dst.asIntBuffer();
            for (int i = 0; i < count; i++) {
                out.put(at + i, in.get(i));
            }
        } else if (target == DataType.FLOAT16) {
            ShortBuffer out = dst.asShortBuffer();
            for (int i = 0; i < count; i++) {
                out.put(at + i, HalfFloats.floatToHalf(HalfFloats.bf16ToFloat(in.get(i))));
            }
        } else {
            FloatBuffer out = dst.asFloatBuffer();
            for (int i = 0; i < count; i++) {
                out.put(at + i, HalfFloats.bf16ToFloat(in.get(i)));
            }
        }
    }

    private static void convertBf16(ShortBuffer in, ByteBuffer dst, DataType target, int count) {
        if (target == DataType.FLOAT16) {
            ShortBuffer out = dst.asShortBuffer();
            for (int i = 0; i < count; i++) {
                out.put(i, HalfFloats.floatToHalf(HalfFloats.bf16ToFloat(in.get(i))));
            }
        } else {
            FloatBuffer out = dst.asFloatBuffer();
            for (int i = 0; i < count; i++) {
                out.put(i, HalfFloats.bf16ToFloat(in.get(i)));
            }
        }
    }

    private static void widenI16(ShortBuffer in, IntBuffer out, int count) {
        for (int i = 0; i < count; i++) {
            out.put(i, in.get(i));
        }
    }

    /** Copies little-endian elements into a native-order buffer (swapping bytes if needed). */
    private static void copyElements(ByteBuffer src, ByteBuffer dst, int elementSize) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (elementSize) {
            case 8:
                dst.asLongBuffer().put(in.asLongBuffer());
                break;
            case 4:
                dst.asIntBuffer().put(in.asIntBuffer());
                break;
            case 2:
                dst.asShortBuffer().put(in.asShortBuffer());
                break;
            default:
                dst.duplicate().put(in);
        }
    }

    /**
     * Decodes a floating tensor's little-endian bytes into floats.
     *
     * @param bytes the stored bytes
     * @param dtype F64, F32, F16 or BF16
     * @param count number of elements
     * @return the values (F64 rounded to float)
     */
    static float[] toFloats(ByteBuffer bytes, DType dtype, int count) {
        float[] out = new float[count];
        toFloats(bytes, dtype, out, 0, count);
        return out;
    }

    /**
     * Decodes {@code count} floating elements into {@code out[at, at + count)}.
     *
     * @param bytes little-endian stored bytes (from the buffer's position)
     * @param dtype F32, F64, F16 or BF16
     * @param out the destination
     * @param at the first index written
     * @param count the number of elements
     */
    static void toFloats(ByteBuffer bytes, DType dtype, float[] out, int at, int count) {
        ByteBuffer src = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32:
                src.asFloatBuffer().get(out, at, count);
                break;
            case F64:
                for (int i = 0; i < count; i++) {
                    out[at + i] = (float) src.getDouble(i * 8);
                }
                break;
            case F16:
                for (int i = 0; i < count; i++) {
                    out[at + i] = HalfFloats.halfToFloat(src.getShort(i * 2));
                }
                break;
            case BF16:
                for (int i = 0; i < count; i++) {
                    out[at + i] = HalfFloats.bf16ToFloat(src.getShort(i * 2));
                }
                break;
            default:
                throw new IllegalArgumentException(dtype + " is not a floating type");
        }
    }
}
