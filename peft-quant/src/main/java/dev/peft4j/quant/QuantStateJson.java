package dev.peft4j.quant;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The non-tensor part of a bitsandbytes quant state, stored as the UTF-8 bytes of a JSON object
 * (bitsandbytes' {@code pack_dict_to_tensor}): {@code quant_type}, {@code blocksize}, {@code
 * dtype}, {@code shape} and, with double quantization, {@code nested_blocksize}, {@code
 * nested_dtype}, {@code nested_offset}. Written exactly as Python's {@code json.dumps} writes it
 * (same key order, {@code ", "} and {@code ": "} separators, Python float repr, ASCII only).
 */
final class QuantStateJson {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonFactory FACTORY =
            JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    private QuantStateJson() {}

    /** The parsed fields; the nested ones are null without double quantization. */
    record Fields(
            QuantType quantType,
            int blocksize,
            String dtype,
            long[] shape,
            Integer nestedBlocksize,
            String nestedDtype,
            Float nestedOffset) {}

    /**
     * @param state a quant state
     * @return the JSON bytes
     */
    static byte[] write(QuantState state) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.setPrettyPrinter(new PythonSeparators());
            g.writeStartObject();
            g.writeStringField("quant_type", state.quantType().bnbName());
            g.writeNumberField("blocksize", state.blocksize());
            g.writeStringField("dtype", state.dtype());
            g.writeArrayFieldStart("shape");
            for (long d : state.shape()) {
                g.writeNumber(d);
            }
            g.writeEndArray();
            if (state.nested().isPresent()) {
                NestedAbsmax nested = state.nested().get();
                g.writeNumberField("nested_blocksize", nested.blocksize());
                g.writeStringField("nested_dtype", "float32");
                g.writeFieldName("nested_offset");
                g.writeNumber(PythonFloatRepr.repr(nested.offset()));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * @param bytes the JSON bytes
     * @param key the state-dict key they came from, for messages
     * @return the fields
     * @throws IllegalArgumentException naming the key and field when something is missing or wrong
     */
    static Fields parse(byte[] bytes, String key) {
        JsonNode root;
        try {
            root = MAPPER.readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalArgumentException(key + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(key + ": expected a JSON object");
        }
        QuantType type;
        try {
            type = QuantType.fromBnbName(text(root, "quant_type", key));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
        int blocksize = integer(root, "blocksize", key);
        String dtype = text(root, "dtype", key);
        JsonNode shapeNode = root.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new IllegalArgumentException(key + ": field 'shape' must be an array");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
                throw new IllegalArgumentException(
                        key + ": field 'shape' must hold non-negative integers, got " + shapeNode);
            }
            shape[i] = d.longValue();
        }
        if (!root.has("nested_offset") && !root.has("nested_blocksize")) {
            return new Fields(type, blocksize, dtype, shape, null, null, null);
        }
        int nestedBlocksize = integer(root, "nested_blocksize", key);
        String nestedDtype = text(root, "nested_dtype", key);
        JsonNode offset = root.get("nested_offset");
        if (offset == null || !offset.isNumber()) {
            throw new IllegalArgumentException(key + ": field 'nested_offset' must be a number");
        }
        return new Fields(
                type, blocksize, dtype, shape, nestedBlocksize, nestedDtype,
                (float) offset.doubleValue());
    }

    private static String text(JsonNode root, String field, String key) {
        JsonNode n = root.get(field);
        if (n == null || !n.isTextual()) {
            throw new IllegalArgumentException(
                    key + ": field '" + field + "' must be a string, got " + n);
        }
        return n.textValue();
    }

    private static int integer(JsonNode root, String field, String key) {
        JsonNode n = root.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(
                    key + ": field '" + field + "' must be an integer, got " + n);
        }
        return n.intValue();
    }

    /** {@code json.dumps}' default separators: {@code ", "} between items, {@code ": "} after keys. */
    private static final class PythonSeparators extends MinimalPrettyPrinter {
        private static final long serialVersionUID = 1L;

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(", ");
        }
    }
}
