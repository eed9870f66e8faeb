package dev.peft4j.core.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Builds raw (possibly malformed) safetensors files for tests. */
final class SafetensorsTestFiles {

    static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsTestFiles() {}

    /** A header entry. */
    static ObjectNode entry(String dtype, long[] shape, long begin, long end) {
        ObjectNode e = JSON.createObjectNode();
        e.put("dtype", dtype);
        var s = e.putArray("shape");
        for (long d : shape) {
            s.add(d);
        }
        e.putArray("data_offsets").add(begin).add(end);
        return e;
    }

    /** Writes {@code 8-byte length, header text (unpadded), data}. */
    static Path write(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return write(file, h.length, h, data);
    }

    /** Writes a declared header length (which may lie), the header bytes and the data. */
    static Path write(Path file, long declaredLength, byte[] header, byte[] data)
            throws IOException {
        ByteBuffer buf =
                ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(declaredLength).put(header).put(data);
        Files.write(file, buf.array());
        return file;
    }

    /** Little-endian bytes of floats. */
    static byte[] floats(float... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buf.putFloat(v);
        }
        return buf.array();
    }
}
