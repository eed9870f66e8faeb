package dev.peft4j.core.merge;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.HalfFloats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Floating-point bytes converted between F64, F32, F16 and BF16 in Java, chunk by chunk (BF16 never
 * reaches DJL). Rounding to F16/BF16 is to nearest even ({@link HalfFloats}), as PyTorch's {@code
 * .to(torch.bfloat16)}.
 */
final class TensorBytes {

    /** Elements converted per chunk. */
    static final int CHUNK = 1 << 20;

    private TensorBytes() {}

    /**
     * Reads {@code count} values of type {@code from} starting at {@code position} of {@code in} and
     * writes them as {@code to} to {@code out}.
     */
    static void convert(FileChannel in, long position, long count, DType from, DType to,
            WritableByteChannel out) throws IOException {
        ByteBuffer src = ByteBuffer.allocateDirect(CHUNK * from.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer dst = ByteBuffer.allocateDirect(CHUNK * to.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (long done = 0; done < count; ) {
            int n = (int) Math.min(CHUNK, count - done);
            src.clear().limit(n * from.byteSize());
            long at = position + done * from.byteSize();
            while (src.hasRemaining()) {
                if (in.read(src, at + src.position()) < 0) {
                    throw new IOException("unexpected end of file at byte " + (at + src.position()));
                }
            }
            src.flip();
            dst.clear();
            for (int i = 0; i < n; i++) {
                put(dst, to, get(src, from));
            }
            dst.flip();
            writeFully(out, dst);
            done += n;
        }
    }

    /** Writes float32 values (little-endian bytes in {@code f32}) as {@code to}. */
    static void encodeFloats(ByteBuffer f32, DType to, WritableByteChannel out) throws IOException {
        f32 = f32.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (to == DType.F32) {
            writeFully(out, f32);
            return;
        }
        ByteBuffer dst = ByteBuffer.allocateDirect(CHUNK * to.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        while (f32.hasRemaining()) {
            dst.clear();
            for (int i = 0; i < CHUNK && f32.hasRemaining(); i++) {
                put(dst, to, f32.getFloat());
            }
            dst.flip();
            writeFully(out, dst);
        }
    }

    private static double get(ByteBuffer b, DType t) {
        return switch (t) {
            case F64 -> b.getDouble();
            case F32 -> b.getFloat();
            case F16 -> HalfFloats.halfToFloat(b.getShort());
            case BF16 -> HalfFloats.bf16ToFloat(b.getShort());
            default -> throw new IllegalArgumentException("not a floating type: " + t);
        };
    }

    private static void put(ByteBuffer b, DType t, double v) {
        switch (t) {
            case F64 -> b.putDouble(v);
            case F32 -> b.putFloat((float) v);
            case F16 -> b.putShort(HalfFloats.floatToHalf((float) v));
            case BF16 -> b.putShort(HalfFloats.floatToBf16((float) v));
            default -> throw new IllegalArgumentException("not a floating type: " + t);
        }
    }

    static void writeFully(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}
