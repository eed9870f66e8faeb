package dev.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Offsets past 2 GiB, on a sparse 3 GiB file (takes no real disk space). */
class SafetensorsLargeFileTest {

    @TempDir Path dir;

    private static final long FILLER = 3L << 30;

    @Test
    void readsTensorsPastTwoGigabytes() throws IOException {
        ObjectNode h = SafetensorsTestFiles.JSON.createObjectNode();
        h.set("filler", SafetensorsTestFiles.entry("U8", new long[] {FILLER}, 0, FILLER));
        h.set("tail", SafetensorsTestFiles.entry("F32", new long[] {2, 2}, FILLER, FILLER + 16));
        h.set(
                "tail_bf16",
                SafetensorsTestFiles.entry("BF16", new long[] {2}, FILLER + 16, FILLER + 20));
        byte[] header =
                SafetensorsTestFiles.JSON.writeValueAsString(h).getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + header.length;
        Path file = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(dataStart + FILLER + 20);
            ByteBuffer head = ByteBuffer.allocate((int) dataStart).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(header.length).put(header);
            raf.write(head.array());
            raf.seek(dataStart + FILLER);
            raf.write(SafetensorsTestFiles.floats(1.5f, -2f, 3.25f, 1e-3f));
            ByteBuffer bf = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            raf.write(bf.putShort((short) 0x3FC0).putShort((short) 0xC2F7).array());
        }
        try {
            try (SafetensorsFile st = SafetensorsFile.open(file);
                    NDManager m = NDManager.newBaseManager()) {
                assertEquals(FILLER, st.info("filler").byteSize());
                NDArray tail = st.load("tail", m);
                assertEquals(new Shape(2, 2), tail.getShape());
                assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 1e-3f}, tail.toFloatArray());
                assertArrayEquals(
                        new float[] {1.5f, -123.5f}, st.load("tail_bf16", m).toFloatArray());
                assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 1e-3f}, st.loadFloats("tail"));
                IOException e = assertThrows(IOException.class, () -> st.rawBytes("filler"));
                assertTrue(
                        e.getMessage().contains("'filler'") && e.getMessage().contains("2 GiB"),
                        e.getMessage());
            }
        } finally {
            Files.delete(file);
        }
    }
}
