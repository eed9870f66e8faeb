package dev.peft4j.minilm;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.HalfFloats;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Conversions of little-endian tensor bytes: transposition and widening to Java arrays. */
final class TensorBytes {

    private TensorBytes() {}

    /**
     * Transposes a row-major {@code [rows, cols]} matrix.
     *
     * @param src the matrix, little-endian, from position 0 (not modified)
     * @param rows rows of the source
     * @param cols columns of the source
     * @param elemSize bytes per element (1, 2, 4 or 8)
     * @return a new heap buffer holding the {@code [cols, rows]} matrix, little-endian
     */
    static ByteBuffer transpose(ByteBuffer src, int rows, int cols, int elemSize) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out =
                ByteBuffer.allocate(Math.multiplyExact(Math.multiplyExact(rows, cols), elemSize))
                        .order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int from = (r * cols + c) * elemSize;
                int to = (c * rows + r) * elemSize;
                switch (elemSize) {
                    case 8:
                        out.putLong(to, in.getLong(from));
                        break;
                    case 4:
                        out.putInt(to, in.getInt(from));
                        break;
                    case 2:
                        out.putShort(to, in.getShort(from));
                        break;
                    default:
                        out.put(to, in.get(from));
                }
            }
        }
        return out;
    }

    /**
     * Converts floating tensor bytes to float32.
     *
     * @param src little-endian bytes from position 0
     * @param dtype F32, F16, BF16 or F64
     * @param n element count
     * @return the values
     */
    static float[] toFloats(ByteBuffer src, DType dtype, int n) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[n];
        switch (dtype) {
            case F32:
                in.asFloatBuffer().get(out);
                break;
            case F64:
                for (int i = 0; i < n; i++) {
                    out[i] = (float) in.getDouble(i * 8);
                }
                break;
            case F16:
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.halfToFloat(in.getShort(i * 2));
                }
                break;
            case BF16:
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(in.getShort(i * 2));
                }
                break;
            default:
                throw new IllegalArgumentException("not a floating type: " + dtype);
        }
        return out;
    }

    /**
     * Widens int16 tensor bytes to int32.
     *
     * @param src little-endian bytes from position 0
     * @param n element count
     * @return the values
     */
    static int[] widenInt16(ByteBuffer src, int n) {
        ByteBuffer in = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = in.getShort(i * 2);
        }
        return out;
    }
}
