package dev.peft4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import com.fasterxml.jackson.databind.JsonNode;

import dev.peft4j.core.testing.Fixtures;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** The shared tiny causal LM checkpoints (written by Python) load with the right shapes and values. */
class TinyCausalLmFixtureTest {

    /** Reads a tensor's bytes without the reader under test: plain file I/O plus Jackson. */
    private static ByteBuffer independentBytes(Path file, String name) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            byte[] len = new byte[8];
            raf.readFully(len);
            int n = (int) ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[n];
            raf.readFully(header);
            JsonNode offsets =
                    SafetensorsTestFiles.JSON.readTree(header).get(name).get("data_offsets");
            byte[] data = new byte[(int) (offsets.get(1).asLong() - offsets.get(0).asLong())];
            raf.seek(8 + n + offsets.get(0).asLong());
            raf.readFully(data);
            return ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    @Test
    void llamaBf16LoadsExactly() throws IOException {
        Path dir = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path file = dir.resolve("model.safetensors");
        try (TensorSource src = TensorSources.open(dir);
                NDManager m = NDManager.newBaseManager()) {
            assertInstanceOf(SafetensorsFile.class, src);
            assertEquals(file, src.location());
            assertEquals("pt", src.metadata().get("format"));
            assertArrayEquals(new long[] {128, 32}, src.info("model.embed_tokens.weight").shape());
            assertArrayEquals(
                    new long[] {32, 32},
                    src.info("model.layers.0.self_attn.q_proj.weight").shape());
            assertArrayEquals(
                    new long[] {16, 32},
                    src.info("model.layers.1.self_attn.k_proj.weight").shape());
            assertArrayEquals(
                    new long[] {96, 32}, src.info("model.layers.0.mlp.gate_proj.weight").shape());
            assertArrayEquals(
                    new long[] {32, 96}, src.info("model.layers.0.mlp.down_proj.weight").shape());
            assertArrayEquals(new long[] {32}, src.info("model.norm.weight").shape());
            for (String name : src.names()) {
                assertEquals(DType.BF16, src.info(name).dtype(), name);
                ShortBufferView raw = new ShortBufferView(independentBytes(file, name));
                float[] expected = new float[raw.size()];
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = Float.intBitsToFloat((raw.get(i) & 0xFFFF) << 16);
                }
                NDArray a = src.load(name, m);
                assertEquals(DataType.FLOAT32, a.getDataType());
                assertEquals(src.info(name).djlShape(), a.getShape());
                assertArrayEquals(expected, a.toFloatArray(), name);
                assertArrayEquals(expected, src.loadFloats(name), name);
                a.close();
            }
        }
    }

    /** A tiny view of little-endian shorts. */
    private record ShortBufferView(ByteBuffer bytes) {
        int size() {
            return bytes.remaining() / 2;
        }

        short get(int i) {
            return bytes.getShort(i * 2);
        }
    }

    @Test
    void qwen2ShardedLoads() throws IOException {
        Path dir = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        try (TensorSource src = TensorSources.open(dir);
                NDManager m = NDManager.newBaseManager()) {
            ShardedSafetensors sharded = assertInstanceOf(ShardedSafetensors.class, src);
            assertEquals(dir.resolve(ShardedSafetensors.INDEX_FILE), src.location());
            assertEquals(2, sharded.shardFiles().size());
            assertEquals(26, src.names().size());
            assertEquals("115840", src.metadata().get("total_size"));
            assertEquals("model.embed_tokens.weight", src.names().get(0));
            assertTrue(
                    sharded.shardFile("model.norm.weight")
                            .endsWith("model-00002-of-00002.safetensors"));
            assertArrayEquals(
                    new long[] {32}, src.info("model.layers.0.self_attn.q_proj.bias").shape());
            assertArrayEquals(
                    new long[] {16}, src.info("model.layers.1.self_attn.v_proj.bias").shape());
            assertArrayEquals(new long[] {128, 32}, src.info("model.embed_tokens.weight").shape());
            long total = 0;
            for (String name : src.names()) {
                TensorInfo info = src.info(name);
                assertEquals(DType.F32, info.dtype());
                total += info.byteSize();
                ByteBuffer raw = independentBytes(sharded.shardFile(name), name);
                float[] expected = new float[raw.remaining() / 4];
                raw.asFloatBuffer().get(expected);
                NDArray a = src.load(name, m);
                assertEquals(info.djlShape(), a.getShape());
                assertArrayEquals(expected, a.toFloatArray(), name);
                a.close();
            }
            assertEquals(115840, total);
        }
    }
}
