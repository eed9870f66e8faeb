package dev.peft4j.spark;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/** Float32 vectors as Base64 text (little-endian IEEE 754), for text-only transports. */
final class Float32Base64 {

    private Float32Base64() {}

    /**
     * @param values the vector
     * @return its Base64 text, {@code ⌈4n/3⌉} characters rounded up to a multiple of 4
     */
    static String encode(float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return Base64.getEncoder().encodeToString(buf.array());
    }

    /**
     * @param text a text from {@link #encode}
     * @return the vector
     * @throws IllegalArgumentException when the text is not Base64 of whole float32 values
     */
    static float[] decode(String text) {
        byte[] bytes = Base64.getDecoder().decode(text);
        if (bytes.length % 4 != 0) {
            throw new IllegalArgumentException("all-reduce message of " + bytes.length
                    + " bytes is not a float32 vector");
        }
        float[] out = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }
}
