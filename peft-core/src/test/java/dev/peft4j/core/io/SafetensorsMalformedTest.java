package dev.peft4j.core.io;

import static dev.peft4j.core.io.SafetensorsTestFiles.JSON;
import static dev.peft4j.core.io.SafetensorsTestFiles.entry;
import static dev.peft4j.core.io.SafetensorsTestFiles.floats;
import static dev.peft4j.core.io.SafetensorsTestFiles.write;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Every kind of malformed safetensors file is rejected with a message naming file and problem. */
class SafetensorsMalformedTest {

    @TempDir Path dir;

    private SafetensorsException rejected(Path file, String... fragments) {
        SafetensorsException e =
                assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close());
        String message = e.getMessage();
        assertTrue(message.contains(file.getFileName().toString()), message);
        for (String f : fragments) {
            assertTrue(message.contains(f), () -> "'" + f + "' not in: " + message);
        }
        assertEquals(file, e.file());
        return e;
    }

    /** A file with one header; data is sized by the caller. */
    private Path file(String header, int dataBytes) throws IOException {
        return write(dir.resolve("bad.safetensors"), header, new byte[dataBytes]);
    }

    private Path file(ObjectNode header, int dataBytes) throws IOException {
        return file(JSON.writeValueAsString(header), dataBytes);
    }

    @Test
    void shorterThanEightBytes() throws IOException {
        Path f = Files.write(dir.resolve("short.safetensors"), new byte[] {1, 2, 3, 4, 5});
        rejected(f, "5 bytes", "shorter than the 8-byte header length");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path f = write(dir.resolve("cut.safetensors"), 1000, "{}".getBytes(), new byte[0]);
        rejected(f, "header length 1000 goes beyond the end of the file (10 bytes)");
    }

    @Test
    void hostileHeaderLengthIsRejectedBeforeAllocating() throws IOException {
        Path huge =
                write(
                        dir.resolve("huge.safetensors"),
                        Long.MAX_VALUE,
                        "{}".getBytes(),
                        new byte[0]);
        rejected(huge, "header length " + Long.MAX_VALUE + " exceeds the limit of 100000000 bytes");
        Path unsigned =
                write(dir.resolve("unsigned.safetensors"), -1L, "{}".getBytes(), new byte[0]);
        rejected(unsigned, "header length 18446744073709551615 exceeds the limit");
    }

    @Test
    void headerNotJson() throws IOException {
        rejected(file("this is not json", 0), "header is not valid JSON");
        rejected(file("{} {}", 0), "header is not valid JSON");
        rejected(file("", 0), "header is not a JSON object but empty");
    }

    @Test
    void headerNotUtf8() throws IOException {
        byte[] header = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        rejected(
                write(dir.resolve("latin.safetensors"), header.length, header, new byte[0]),
                "not valid UTF-8");
    }

    @Test
    void headerNotAnObject() throws IOException {
        rejected(file("[1, 2]", 0), "header is not a JSON object but array [1,2]");
    }

    @Test
    void entryNotAnObject() throws IOException {
        rejected(file("{\"w\": 5}", 0), "tensor 'w': entry is not a JSON object but number 5");
    }

    @Test
    void entryMissingFields() throws IOException {
        ObjectNode e = entry("F32", new long[] {1}, 0, 4);
        for (String field : new String[] {"dtype", "shape", "data_offsets"}) {
            ObjectNode h = JSON.createObjectNode();
            h.set("w", e.deepCopy().without(field));
            SafetensorsException ex =
                    rejected(file(h, 4), "tensor 'w': entry has no '" + field + "'");
            assertEquals("w", ex.tensor());
        }
    }

    @Test
    void entryWrongJsonTypes() throws IOException {
        rejected(
                file("{\"w\": {\"dtype\": 5, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4),
                "tensor 'w': dtype is not a string but number 5");
        rejected(
                file(
                        "{\"w\": {\"dtype\": \"F32\", \"shape\": \"1\", \"data_offsets\": [0, 4]}}",
                        4),
                "tensor 'w': shape is not an array of integers");
        rejected(
                file(
                        "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}",
                        4),
                "tensor 'w': shape[0] is not a 64-bit integer but number 1.5");
        rejected(
                file(
                        "{\"w\": {\"dtype\": \"F32\", \"shape\": [99999999999999999999],"
                            + " \"data_offsets\": [0, 4]}}",
                        4),
                "tensor 'w': shape[0] is not a 64-bit integer");
        rejected(
                file("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4),
                "tensor 'w': data_offsets is not an array of 2 integers");
        rejected(
                file(
                        "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\","
                            + " \"4\"]}}",
                        4),
                "tensor 'w': data_offsets[0] is not a 64-bit integer but string");
    }

    @Test
    void negativeDimension() throws IOException {
        ObjectNode h = JSON.createObjectNode().set("w", entry("F32", new long[] {2, -2}, 0, 16));
        rejected(file(h, 16), "tensor 'w': shape [2, -2] has a negative dimension");
    }

    @Test
    void unknownDtype() throws IOException {
        ObjectNode h = JSON.createObjectNode().set("w", entry("F8_E4M3", new long[] {4}, 0, 4));
        rejected(file(h, 4), "tensor 'w': unknown or unsupported dtype 'F8_E4M3'");
    }

    @Test
    void endBeyondDataSection() throws IOException {
        ObjectNode h = JSON.createObjectNode().set("w", entry("F32", new long[] {4}, 0, 16));
        rejected(
                file(h, 12),
                "tensor 'w': data_offsets [0, 16] go beyond the data section (12 bytes)");
    }

    @Test
    void beginAfterEnd() throws IOException {
        ObjectNode h = JSON.createObjectNode().set("w", entry("F32", new long[] {1}, 8, 4));
        rejected(file(h, 8), "tensor 'w': data_offsets [8, 4] are invalid");
    }

    @Test
    void overlappingOffsets() throws IOException {
        ObjectNode h = JSON.createObjectNode();
        h.set("a", entry("F32", new long[] {2}, 0, 8));
        h.set("b", entry("F32", new long[] {2}, 4, 12));
        rejected(file(h, 12), "tensor 'b': data_offsets [4, 12] overlap the previous tensor");
    }

    @Test
    void gapBetweenTensors() throws IOException {
        ObjectNode h = JSON.createObjectNode();
        h.set("a", entry("F32", new long[] {1}, 0, 4));
        h.set("b", entry("F32", new long[] {1}, 8, 12));
        rejected(
                file(h, 12),
                "tensor 'b': data_offsets [8, 12] leave a gap after the previous tensor");
    }

    @Test
    void firstTensorNotAtZero() throws IOException {
        ObjectNode h = JSON.createObjectNode().set("a", entry("F32", new long[] {1}, 4, 8));
        rejected(file(h, 8), "tensor 'a': data_offsets [4, 8] leave a gap", "expected begin 0");
    }

    @Test
    void unorderedButContiguousOffsetsAreAccepted() throws IOException {
        ObjectNode h = JSON.createObjectNode();
        h.set("second", entry("F32", new long[] {1}, 4, 8));
        h.set("first", entry("F32", new long[] {1}, 0, 4));
        Path f = write(dir.resolve("ok.safetensors"), JSON.writeValueAsString(h), floats(1, 2));
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(java.util.List.of("first", "second"), st.names());
            assertEquals(2f, st.loadFloats("second")[0]);
        }
    }

    @Test
    void trailingBytesAfterLastTensor() throws IOException {
        ObjectNode h = JSON.createObjectNode().set("a", entry("F32", new long[] {1}, 0, 4));
        rejected(file(h, 6), "tensors cover 4 bytes but the data section has 6");
    }

    @Test
    void byteCountDoesNotMatchShape() throws IOException {
        ObjectNode h = JSON.createObjectNode().set("w", entry("F32", new long[] {2}, 0, 12));
        rejected(
                file(h, 12),
                "tensor 'w': data_offsets [0, 12] hold 12 bytes but shape [2] of F32 needs 8");
    }

    @Test
    void shapeProductOverflows() throws IOException {
        long big = 1L << 32;
        ObjectNode h = JSON.createObjectNode().set("w", entry("F32", new long[] {big, big}, 0, 0));
        rejected(file(h, 0), "tensor 'w': shape [4294967296, 4294967296] overflows");
        ObjectNode h2 = JSON.createObjectNode().set("w", entry("F64", new long[] {1L << 61}, 0, 0));
        rejected(file(h2, 0), "tensor 'w': shape [2305843009213693952] overflows");
    }

    /** Found by SafetensorsFuzzTest: an empty tensor with huge dims made the engine throw. */
    @Test
    void emptyShapeWithOverflowingDimsIsRejected() throws IOException {
        long[][] shapes = {{0, 1L << 62, 1L << 62}, {Long.MAX_VALUE, 0}, {1L << 40, 0, 1L << 40}};
        for (long[] shape : shapes) {
            ObjectNode h = JSON.createObjectNode().set("e", entry("F32", shape, 0, 0));
            rejected(
                    file(h, 0),
                    "tensor 'e': shape " + java.util.Arrays.toString(shape) + " overflows");
        }
        // Empty tensors whose strides fit stay valid.
        ObjectNode ok =
                JSON.createObjectNode().set("e", entry("F32", new long[] {0, 1L << 40}, 0, 0));
        try (SafetensorsFile f = SafetensorsFile.open(file(ok, 0));
                ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            assertEquals(new ai.djl.ndarray.types.Shape(0, 1L << 40), f.load("e", m).getShape());
        }
    }

    @Test
    void duplicateNames() throws IOException {
        String one = "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}";
        rejected(
                file("{\"w\": " + one + ", \"w\": " + one + "}", 4), "duplicate key 'w' in header");
        rejected(
                file(
                        "{\"w\": {\"dtype\": \"F32\", \"dtype\": \"F16\", \"shape\": [1],"
                            + " \"data_offsets\": [0, 4]}}",
                        4),
                "duplicate key 'dtype' in header");
    }

    @Test
    void metadataNotAStringMap() throws IOException {
        rejected(
                file("{\"__metadata__\": {\"step\": 5}}", 0),
                "__metadata__ is not a string-to-string map: value of 'step' is number 5");
        rejected(
                file("{\"__metadata__\": [\"a\"]}", 0),
                "__metadata__ is not a string-to-string map but array");
    }
}
