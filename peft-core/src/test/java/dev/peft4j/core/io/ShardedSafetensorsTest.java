package dev.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Sharded checkpoints: index parsing and the consistency checks between index and shards. */
class ShardedSafetensorsTest {

    @TempDir Path dir;

    @BeforeEach
    void shards() throws IOException {
        SafetensorsWriter.create()
                .add(
                        "a",
                        DType.F32,
                        new long[] {2},
                        ByteBuffer.wrap(SafetensorsTestFiles.floats(1, 2)))
                .add(
                        "b",
                        DType.F32,
                        new long[] {1},
                        ByteBuffer.wrap(SafetensorsTestFiles.floats(3)))
                .write(dir.resolve("s1.safetensors"));
        SafetensorsWriter.create()
                .metadata("format", "pt")
                .add(
                        "c",
                        DType.BF16,
                        new long[] {1},
                        ByteBuffer.wrap(new byte[] {(byte) 0x80, 0x3F}))
                .write(dir.resolve("s2.safetensors"));
    }

    /** Writes the index; {@code pairs} are tensor, shard, tensor, shard, ... in order. */
    private Path index(String... pairs) throws IOException {
        ObjectNode root = SafetensorsTestFiles.JSON.createObjectNode();
        root.putObject("metadata").put("total_size", 14).put("note", "x");
        ObjectNode map = root.putObject("weight_map");
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i], pairs[i + 1]);
        }
        Path index = dir.resolve(ShardedSafetensors.INDEX_FILE);
        Files.writeString(index, SafetensorsTestFiles.JSON.writeValueAsString(root));
        return index;
    }

    private SafetensorsException rejected(Path index, String... fragments) {
        SafetensorsException e =
                assertThrows(
                        SafetensorsException.class, () -> ShardedSafetensors.open(index).close());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "'" + f + "' not in: " + e.getMessage());
        }
        return e;
    }

    @Test
    void opensAndDelegates() throws IOException {
        Path index = index("c", "s2.safetensors", "a", "s1.safetensors");
        try (ShardedSafetensors src = ShardedSafetensors.open(index);
                NDManager m = NDManager.newBaseManager()) {
            assertEquals(List.of("c", "a"), src.names());
            assertEquals(Map.of("total_size", "14", "note", "x"), src.metadata());
            assertEquals(
                    List.of(dir.resolve("s2.safetensors"), dir.resolve("s1.safetensors")),
                    src.shardFiles());
            assertTrue(src.contains("a"));
            assertEquals(
                    false, src.contains("b"), "tensors the index does not list are not exposed");
            assertArrayEquals(new float[] {1, 2}, src.load("a", m).toFloatArray());
            assertArrayEquals(new float[] {1}, src.load("c", m).toFloatArray());
            assertArrayEquals(new float[] {1}, src.loadFloats("c"));
            assertEquals(DType.BF16, src.info("c").dtype());
            assertEquals(2, src.rawBytes("c").remaining());
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> src.info("zz"));
            assertTrue(
                    e.getMessage().contains("'zz'")
                            && e.getMessage().contains(ShardedSafetensors.INDEX_FILE));
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Path index = index("a", "s1.safetensors", "d", "model-00003-of-00003.safetensors");
        SafetensorsException e =
                rejected(
                        index,
                        ShardedSafetensors.INDEX_FILE,
                        "tensor 'd'",
                        "shard 'model-00003-of-00003.safetensors' is missing");
        assertEquals(index, e.file());
    }

    @Test
    void shardMustHoldWhatTheIndexSays() throws IOException {
        Path index = index("c", "s1.safetensors");
        rejected(
                index,
                ShardedSafetensors.INDEX_FILE,
                "tensor 'c'",
                "shard 's1.safetensors', which does not hold it");
    }

    @Test
    void shardOutsideTheDirectoryIsRejected() throws IOException {
        rejected(index("a", "../s1.safetensors"), "tensor 'a'", "lies outside");
    }

    @Test
    void malformedIndex() throws IOException {
        Path index = dir.resolve(ShardedSafetensors.INDEX_FILE);
        Files.writeString(index, "{not json");
        rejected(index, ShardedSafetensors.INDEX_FILE, "index is not valid JSON");
        Files.writeString(index, "{\"metadata\": {}}");
        rejected(index, "index has no 'weight_map' object");
        Files.writeString(index, "{\"weight_map\": {\"a\": 5}}");
        rejected(index, "tensor 'a'", "weight_map value is not a shard file name");
        Files.writeString(
                index, "{\"weight_map\": {\"a\": \"s1.safetensors\", \"a\": \"s2.safetensors\"}}");
        rejected(index, "Duplicate field 'a'");
    }

    @Test
    void malformedShardIsNamed() throws IOException {
        Files.write(dir.resolve("s2.safetensors"), new byte[] {1, 2, 3});
        rejected(
                index("c", "s2.safetensors"),
                "s2.safetensors",
                "shorter than the 8-byte header length");
    }
}
