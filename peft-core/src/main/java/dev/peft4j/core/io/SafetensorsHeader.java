package dev.peft4j.core.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsed and validated header of a safetensors file. Validation follows the Rust {@code
 * safetensors} crate: header length at most {@link #MAX_HEADER_BYTES} and within the file, UTF-8
 * JSON object, no duplicate names, known dtypes, and tensors that tile the data section exactly
 * (sorted by offset, each beginning where the previous ends, the last ending at the end of the
 * file), each holding exactly shape × dtype-size bytes. Stricter than the crate, the product of
 * the dimensions with zeros counted as 1 must also fit in 64 bits (bytes): an empty tensor with
 * dimensions such as {@code [0, 2^62, 2^62]} would make the engine's stride computation overflow.
 *
 * @param tensors the entries in storage (offset) order
 * @param metadata the {@code __metadata__} map (empty when absent)
 * @param dataStart absolute file offset of the data section
 */
record SafetensorsHeader(List<TensorInfo> tensors, Map<String, String> metadata, long dataStart) {

    /** Largest accepted header, as in the Rust crate: guards against hostile header lengths. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON =
            JsonMapper.builder()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .build();

    /**
     * Reads and validates the header of an open file.
     *
     * @param file the file's path, for messages
     * @param channel the open file
     * @return the header
     * @throws SafetensorsException when the header is malformed
     * @throws IOException when reading fails
     */
    static SafetensorsHeader read(Path file, FileChannel channel) throws IOException {
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw new SafetensorsException(
                    file, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lengthBytes = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw new SafetensorsException(
                    file,
                    "header length "
                            + Long.toUnsignedString(headerLength)
                            + " exceeds the limit of "
                            + MAX_HEADER_BYTES
                            + " bytes");
        }
        if (headerLength > fileSize - 8) {
            throw new SafetensorsException(
                    file,
                    "header length "
                            + headerLength
                            + " goes beyond the end of the file ("
                            + fileSize
                            + " bytes)");
        }
        ByteBuffer json = readFully(channel, 8, (int) headerLength);
        long dataStart = 8 + headerLength;
        return parse(file, json, fileSize - dataStart, dataStart);
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length)
            throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
        return buffer.flip();
    }

    private static SafetensorsHeader parse(
            Path file, ByteBuffer json, long dataSize, long dataStart) throws SafetensorsException {
        String text;
        try {
            text =
                    StandardCharsets.UTF_8
                            .newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(json)
                            .toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, null, "header is not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file, null, jsonProblem(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(
                    file, "header is not a JSON object but " + describe(root));
        }
        Map<String, String> metadata = Map.of();
        List<TensorInfo> tensors = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> fields = root.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (METADATA_KEY.equals(field.getKey())) {
                metadata = parseMetadata(file, field.getValue());
            } else {
                tensors.add(parseEntry(file, field.getKey(), field.getValue()));
            }
        }
        tensors.sort(
                Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        validateLayout(file, tensors, dataSize);
        return new SafetensorsHeader(Collections.unmodifiableList(tensors), metadata, dataStart);
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node)
            throws SafetensorsException {
        if (node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new SafetensorsException(
                    file, METADATA_KEY + " is not a string-to-string map but " + describe(node));
        }
        Map<String, String> map = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(
                        file,
                        METADATA_KEY
                                + " is not a string-to-string map: value of '"
                                + e.getKey()
                                + "' is "
                                + describe(e.getValue()));
            }
            map.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(map);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode entry)
            throws SafetensorsException {
        if (!entry.isObject()) {
            throw bad(file, name, "entry is not a JSON object but " + describe(entry));
        }
        JsonNode dtypeNode = required(file, name, entry, "dtype");
        if (!dtypeNode.isTextual()) {
            throw bad(file, name, "dtype is not a string but " + describe(dtypeNode));
        }
        DType dtype;
        try {
            dtype = DType.fromSafetensors(dtypeNode.textValue());
        } catch (IllegalArgumentException e) {
            throw new SafetensorsException(file, name, e.getMessage(), e);
        }
        long[] shape = longs(file, name, required(file, name, entry, "shape"), "shape", -1);
        for (long d : shape) {
            if (d < 0) {
                throw bad(
                        file,
                        name,
                        "shape " + Arrays.toString(shape) + " has a negative dimension");
            }
        }
        long[] offsets =
                longs(file, name, required(file, name, entry, "data_offsets"), "data_offsets", 2);
        return new TensorInfo(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static JsonNode required(Path file, String name, JsonNode entry, String key)
            throws SafetensorsException {
        JsonNode node = entry.get(key);
        if (node == null) {
            throw bad(file, name, "entry has no '" + key + "'");
        }
        return node;
    }

    private static long[] longs(Path file, String name, JsonNode node, String key, int length)
            throws SafetensorsException {
        if (!node.isArray() || (length >= 0 && node.size() != length)) {
            String expected =
                    length >= 0 ? "an array of " + length + " integers" : "an array of integers";
            throw bad(file, name, key + " is not " + expected + " but " + describe(node));
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw bad(
                        file, name, key + "[" + i + "] is not a 64-bit integer but " + describe(v));
            }
            values[i] = v.longValue();
        }
        return values;
    }

    private static void validateLayout(Path file, List<TensorInfo> tensors, long dataSize)
            throws SafetensorsException {
        long expectedBegin = 0;
        for (TensorInfo t : tensors) {
            long[] shape = t.shape();
            if (t.begin() < 0 || t.end() < t.begin()) {
                throw bad(
                        file,
                        t.name(),
                        "data_offsets ["
                                + t.begin()
                                + ", "
                                + t.end()
                                + "] are invalid (begin > end or negative)");
            }
            if (t.end() > dataSize) {
                throw bad(
                        file,
                        t.name(),
                        "data_offsets ["
                                + t.begin()
                                + ", "
                                + t.end()
                                + "] go beyond the data section ("
                                + dataSize
                                + " bytes)");
            }
            if (t.begin() != expectedBegin) {
                String problem =
                        t.begin() < expectedBegin
                                ? "overlap the previous tensor"
                                : "leave a gap after the previous tensor";
                throw bad(
                        file,
                        t.name(),
                        "data_offsets ["
                                + t.begin()
                                + ", "
                                + t.end()
                                + "] "
                                + problem
                                + " (expected begin "
                                + expectedBegin
                                + "; tensors must be contiguous in offset order)");
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(t.numel(), t.dtype().byteSize());
                spanBytes(shape, t.dtype().byteSize());
            } catch (ArithmeticException e) {
                throw bad(
                        file,
                        t.name(),
                        "shape " + Arrays.toString(shape) + " overflows: too many elements");
            }
            if (bytes != t.byteSize()) {
                throw bad(
                        file,
                        t.name(),
                        "data_offsets ["
                                + t.begin()
                                + ", "
                                + t.end()
                                + "] hold "
                                + t.byteSize()
                                + " bytes but shape "
                                + Arrays.toString(shape)
                                + " of "
                                + t.dtype()
                                + " needs "
                                + bytes);
            }
            expectedBegin = t.end();
        }
        if (expectedBegin != dataSize) {
            throw new SafetensorsException(
                    file,
                    "tensors cover "
                            + expectedBegin
                            + " bytes but the data section has "
                            + dataSize
                            + " (trailing bytes after the last tensor)");
        }
    }

    /**
     * The bytes the tensor would span if every zero dimension were 1: the engine computes strides
     * from these, so an empty tensor such as {@code [0, 2^62, 2^62]} must not overflow them either.
     *
     * @throws ArithmeticException when they overflow a long
     */
    private static long spanBytes(long[] shape, int byteSize) {
        long n = byteSize;
        for (long d : shape) {
            n = Math.multiplyExact(n, Math.max(d, 1));
        }
        return n;
    }

    /** Jackson reports duplicate keys as "Duplicate field 'x'": say it plainly. */
    private static String jsonProblem(JsonProcessingException e) {
        String message = e.getOriginalMessage();
        String prefix = "Duplicate field '";
        if (message != null && message.startsWith(prefix) && message.endsWith("'")) {
            return "duplicate key '"
                    + message.substring(prefix.length(), message.length() - 1)
                    + "' in header";
        }
        return "header is not valid JSON: " + message;
    }

    private static SafetensorsException bad(Path file, String tensor, String problem) {
        return new SafetensorsException(file, tensor, problem, null);
    }

    private static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "empty";
        }
        String kind = node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        String text = node.toString();
        return kind + " " + (text.length() > 40 ? text.substring(0, 40) + "..." : text);
    }
}
