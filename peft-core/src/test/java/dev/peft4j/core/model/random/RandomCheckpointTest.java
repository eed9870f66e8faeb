package dev.peft4j.core.model.random;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random-weight checkpoints: layout, index, initialization statistics, determinism, loading. */
class RandomCheckpointTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** 4 layers, hidden 256, GQA 8/2 heads, untied head. */
    static ModelShape llama() {
        return ModelShape.builder().setModelType("llama").setHiddenSize(256).setNumLayers(4).setNumHeads(8)
                .setNumKeyValueHeads(2).setIntermediateSize(512).setVocabSize(1000).build();
    }

    /** The same with Qwen2's q/k/v biases and tied embeddings. */
    static ModelShape qwen() {
        return ModelShape.builder().setModelType("qwen2").setHiddenSize(256).setNumLayers(4).setNumHeads(8)
                .setNumKeyValueHeads(2).setIntermediateSize(512).setVocabSize(1000).build();
    }

    private static long write(ModelShape shape, long seed, long shardBytes, Path dir) throws Exception {
        return RandomCheckpoint.builder().setShape(shape).optSeed(seed).optShardBytes(shardBytes).build().write(dir);
    }

    @Test
    void shardedIndexListsEveryTensorAndTheTotalSize(@TempDir Path tmp) throws Exception {
        ModelShape shape = llama();
        Path dir = tmp.resolve("llama");
        long total = write(shape, 7, 600_000, dir);
        // embed 1000x256, per layer q 256x256, k/v 64x256, o 256x256, mlp 3x512x256, 2 norms; norm; head
        long params = 256_000 + 4 * (65_536 + 2 * 16_384 + 65_536 + 3 * 131_072 + 2 * 256) + 256 + 256_000;
        assertEquals(params, shape.parameterCount());
        assertEquals(2 * params, total);
        JsonNode index = JSON.readTree(dir.resolve(ShardedSafetensors.INDEX_FILE).toFile());
        assertEquals(total, index.path("metadata").path("total_size").asLong());
        JsonNode map = index.path("weight_map");
        assertEquals(shape.tensors().size(), map.size());
        assertEquals(4 * 9 + 3, map.size());
        assertTrue(map.has("lm_head.weight"));
        Set<String> files = new HashSet<>();
        String previous = "";
        for (Iterator<String> it = map.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            assertTrue(name.compareTo(previous) > 0, "weight_map sorted: " + name);
            previous = name;
            files.add(map.get(name).asText());
        }
        int shards = RandomCheckpoint.builder().setShape(shape).optShardBytes(600_000).build().shards().size();
        assertEquals(shards, files.size());
        assertTrue(shards >= 5, "tiny shards: " + shards);
        assertTrue(files.contains(String.format("model-00001-of-%05d.safetensors", shards)), files.toString());
        long bytesOnDisk = 0;
        for (String f : files) {
            long size = Files.size(dir.resolve(f));
            bytesOnDisk += size;
            try (TensorSource s = TensorSources.open(dir.resolve(f))) {
                long data = s.names().stream().mapToLong(n -> 2 * s.info(n).numel()).sum();
                assertTrue(data <= 600_000 || s.names().size() == 1, f + " holds " + data + " bytes");
            }
        }
        assertTrue(bytesOnDisk > total && bytesOnDisk < total + 64 * 1024, "headers are small: " + bytesOnDisk);
        try (Stream<Path> list = Files.list(tmp)) {
            assertEquals(List.of(dir), list.toList(), "no temporary directory left");
        }
    }

    @Test
    void untiedGqaLlamaLoadsAndComputesFiniteLogits(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("llama");
        write(llama(), 1, 600_000, dir);
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
            float[] logits = logits(lm);
            assertEquals(5 * 1000, logits.length);
            for (float v : logits) {
                assertTrue(Float.isFinite(v));
            }
            float max = 0;
            for (float v : logits) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 1e-3 && max < 10, "random weights give small, non-zero logits: " + max);
        }
    }

    @Test
    void qwen2HasZeroBiasesTiedEmbeddingsAndLoads(@TempDir Path tmp) throws Exception {
        ModelShape shape = qwen();
        assertTrue(shape.tieWordEmbeddings() && shape.qkvBias());
        Path dir = tmp.resolve("qwen");
        write(shape, 1, RandomCheckpoint.DEFAULT_SHARD_BYTES, dir);
        assertTrue(Files.exists(dir.resolve("model.safetensors")), "one shard: no index");
        assertFalse(Files.exists(dir.resolve(ShardedSafetensors.INDEX_FILE)));
        try (TensorSource s = TensorSources.open(dir)) {
            assertFalse(s.contains("lm_head.weight"));
            assertEquals(4 * 12 + 2, s.names().size());
            for (float v : s.loadFloats("model.layers.2.self_attn.k_proj.bias")) {
                assertEquals(0f, v);
            }
            assertEquals(64, s.info("model.layers.2.self_attn.v_proj.bias").numel());
            for (float v : s.loadFloats("model.layers.3.post_attention_layernorm.weight")) {
                assertEquals(1f, v);
            }
            assertEquals("BF16", s.info("model.embed_tokens.weight").dtype().name());
        }
        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals("Qwen2ForCausalLM", config.path("architectures").get(0).asText());
        assertEquals(999, config.path("eos_token_id").asInt(), "special ids inside a custom vocabulary");
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
            for (float v : logits(lm)) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void weightsFollowHuggingFaceInitialization(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("llama");
        write(llama(), 3, RandomCheckpoint.DEFAULT_SHARD_BYTES, dir);
        try (TensorSource s = TensorSources.open(dir)) {
            for (String name : List.of("model.embed_tokens.weight", "model.layers.1.mlp.down_proj.weight")) {
                float[] w = s.loadFloats(name);
                double sum = 0;
                double sq = 0;
                for (float v : w) {
                    sum += v;
                    sq += (double) v * v;
                }
                double mean = sum / w.length;
                double std = Math.sqrt(sq / w.length - mean * mean);
                // standard errors: 0.02/sqrt(n) for the mean, 0.02/sqrt(2n) for the std (n >= 131072)
                assertEquals(0, mean, 3e-4, name + " mean");
                assertEquals(0.02, std, 3e-4, name + " std");
            }
        }
    }

    @Test
    void aSeedFixesEveryTensorWhateverTheSharding(@TempDir Path tmp) throws Exception {
        write(llama(), 11, 600_000, tmp.resolve("a"));
        write(llama(), 11, 600_000, tmp.resolve("b"));
        write(llama(), 11, RandomCheckpoint.DEFAULT_SHARD_BYTES, tmp.resolve("one"));
        write(llama(), 12, RandomCheckpoint.DEFAULT_SHARD_BYTES, tmp.resolve("other"));
        try (Stream<Path> files = Files.list(tmp.resolve("a"))) {
            for (Path f : files.toList()) {
                assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(tmp.resolve("b").resolve(f.getFileName())),
                        f.getFileName() + " byte for byte");
            }
        }
        try (TensorSource a = TensorSources.open(tmp.resolve("a"));
                TensorSource one = TensorSources.open(tmp.resolve("one"));
                TensorSource other = TensorSources.open(tmp.resolve("other"))) {
            for (String name : a.names()) {
                assertArrayEquals(a.loadFloats(name), one.loadFloats(name), name);
            }
            String q = "model.layers.0.self_attn.q_proj.weight";
            assertFalse(java.util.Arrays.equals(a.loadFloats(q), other.loadFloats(q)), "another seed");
            assertFalse(java.util.Arrays.equals(a.loadFloats(q),
                    a.loadFloats("model.layers.1.self_attn.q_proj.weight")), "each tensor its own stream");
        }
    }

    @Test
    void namedShapesCarryTheHubConfig() {
        ModelShape llama = ModelShape.named("llama-2-7b");
        assertEquals(6_738_415_616L, llama.parameterCount());
        JsonNode c = llama.config();
        assertEquals("LlamaForCausalLM", c.path("architectures").get(0).asText());
        assertEquals(1e-5, c.path("rms_norm_eps").asDouble());
        assertEquals(4096, c.path("max_position_embeddings").asInt());
        assertEquals(32, c.path("num_key_value_heads").asInt());
        assertEquals("bfloat16", c.path("torch_dtype").asText());
        assertFalse(c.path("tie_word_embeddings").asBoolean());
        List<List<TensorSpec>> shards = RandomCheckpoint.builder().setShape(llama).build().shards();
        assertEquals(3, shards.size());
        for (List<TensorSpec> s : shards) {
            assertTrue(s.stream().mapToLong(t -> 2 * t.elements()).sum() <= RandomCheckpoint.DEFAULT_SHARD_BYTES);
        }

        ModelShape tiny = ModelShape.named("tinyllama-1.1b");
        assertEquals(1_100_048_384L, tiny.parameterCount());
        assertEquals(4, tiny.config().path("num_key_value_heads").asInt());
        assertEquals(10000.0, tiny.config().path("rope_theta").asDouble());
        assertEquals(1, RandomCheckpoint.builder().setShape(tiny).build().shards().size());

        ModelShape qwen = ModelShape.named("qwen2.5-0.5b");
        assertEquals(494_032_768L, qwen.parameterCount());
        JsonNode q = qwen.config();
        assertEquals("Qwen2ForCausalLM", q.path("architectures").get(0).asText());
        assertEquals(1e6, q.path("rope_theta").asDouble());
        assertEquals(1e-6, q.path("rms_norm_eps").asDouble());
        assertEquals(32768, q.path("max_position_embeddings").asInt());
        assertTrue(q.path("tie_word_embeddings").asBoolean());
        assertFalse(q.path("use_sliding_window").asBoolean());
        assertEquals(151643, q.path("bos_token_id").asInt());

        for (String name : ModelShape.NAMES) {
            LlamaConfig parsed = LlamaConfig.of(ModelShape.named(name).config(), name);
            assertEquals(ModelShape.named(name).numLayers(), parsed.numHiddenLayers());
        }
    }

    @Test
    void badInputIsRefusedByName(@TempDir Path tmp) throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelShape.named("gpt-5"));
        assertEquals("unknown model shape 'gpt-5' (known: llama-2-7b, tinyllama-1.1b, qwen2.5-0.5b, or build a"
                + " custom one)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelShape.builder().setModelType("llama")
                .setHiddenSize(250).setNumLayers(1).setNumHeads(8).setNumKeyValueHeads(2).setIntermediateSize(8)
                .setVocabSize(8).build());
        assertEquals("hidden size 250 is not a multiple of the 8 heads", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelShape.builder().setModelType("gpt2").build());
        assertEquals("model type must be llama or qwen2, got 'gpt2'", e.getMessage());
        Files.createDirectories(tmp.resolve("full"));
        Files.writeString(tmp.resolve("full/x"), "x");
        assertThrows(FileAlreadyExistsException.class, () -> write(llama(), 1, 600_000, tmp.resolve("full")));
        try (Stream<Path> left = Files.list(tmp.resolve("full"))) {
            assertEquals(List.of(tmp.resolve("full/x")), left.toList(), "the target untouched");
        }
    }

    private static float[] logits(LlamaForCausalLM lm) {
        try (NDManager m = NDManager.newBaseManager()) {
            long[] ids = {1, 17, 42, 999, 5};
            NDArray input = m.create(ids, new Shape(1, ids.length));
            return lm.forward(new ParameterStore(m, false), input, null, null, null, false).logits().toFloatArray();
        }
    }
}
