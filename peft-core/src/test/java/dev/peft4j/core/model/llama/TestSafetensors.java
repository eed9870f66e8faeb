package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.ArrayTensorSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** A minimal safetensors reader (F32/BF16) and writer (F32) for tests. */
final class TestSafetensors {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private TestSafetensors() {}

    /** Reads a model directory (single file or sharded with an index). */
    static ArrayTensorSource readDir(Path dir, NDManager manager) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            Set<String> files = new LinkedHashSet<>();
            MAPPER.readTree(index.toFile()).get("weight_map").forEach(n -> files.add(n.asText()));
            for (String f : files) {
                read(dir.resolve(f), manager, out);
            }
        } else {
            read(dir.resolve("model.safetensors"), manager, out);
        }
        return new ArrayTensorSource(dir, out, Map.of());
    }

    static void read(Path file, NDManager manager, Map<String, NDArray> out) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) all.getLong(0);
        JsonNode header = MAPPER.readTree(new String(all.array(), 8, n, StandardCharsets.UTF_8));
        int base = 8 + n;
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            long[] shape = new long[t.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.get("shape").get(i).asLong();
            }
            int begin = base + t.get("data_offsets").get(0).asInt();
            int end = base + t.get("data_offsets").get(1).asInt();
            String dtype = t.get("dtype").asText();
            float[] values;
            if (dtype.equals("F32")) {
                values = new float[(end - begin) / 4];
                for (int i = 0; i < values.length; i++) {
                    values[i] = all.getFloat(begin + 4 * i);
                }
            } else if (dtype.equals("BF16")) {
                values = new float[(end - begin) / 2];
                for (int i = 0; i < values.length; i++) {
                    values[i] = Float.intBitsToFloat((all.getShort(begin + 2 * i) & 0xffff) << 16);
                }
            } else {
                throw new IOException("test reader: unsupported dtype " + dtype);
            }
            out.put(e.getKey(), manager.create(values, new Shape(shape)));
        }
    }

    /** Writes float tensors as one F32 safetensors file. */
    static void write(Path file, Map<String, NDArray> tensors) throws IOException {
        ObjectNode header = MAPPER.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            ArrayNode shape = t.putArray("shape");
            for (long d : e.getValue().getShape().getShape()) {
                shape.add(d);
            }
            long bytes = e.getValue().size() * 4;
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] h = MAPPER.writeValueAsBytes(header);
        ByteBuffer buf = ByteBuffer.allocate((int) (8 + h.length + offset)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        for (NDArray a : tensors.values()) {
            for (float f : a.toType(DataType.FLOAT32, true).toFloatArray()) {
                buf.putFloat(f);
            }
        }
        Files.write(file, buf.array());
    }
}
