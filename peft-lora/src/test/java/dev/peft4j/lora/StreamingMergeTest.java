package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.HalfFloats;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.merge.LayerSelection;
import dev.peft4j.core.merge.MergeReport;
import dev.peft4j.core.merge.OutputDtype;
import dev.peft4j.core.merge.StreamingMerge;
import dev.peft4j.core.merge.TensorMergeProviders;
import dev.peft4j.core.merge.TensorMergeRule;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.model.random.ModelShape;
import dev.peft4j.core.model.random.RandomCheckpoint;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLoader;
import dev.peft4j.quant.nn.QuantizedRoundTrip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The streaming dense merge ({@link StreamingMerge} with {@link LoraMergeRule}) against the
 * in-memory one ({@code PeftModel.mergeAndUnloadDense}): tensor by tensor, float32 bit-exact, BF16
 * output equal to the in-memory result rounded to BF16; plain LoRA, rsLoRA with a rank pattern,
 * DoRA and QLoRA NF4 with double quantization; the tiny fixtures and sharded random checkpoints;
 * layer subsets; bad input leaving nothing behind.
 */
class StreamingMergeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path tmp;

    /** 4 layers, hidden 256, GQA 8/2, untied head, sharded at 600 kB (BF16). */
    private Path llamaShape() throws IOException {
        Path dir = tmp.resolve("llama-shape");
        RandomCheckpoint.builder().setShape(ModelShape.builder().setModelType("llama").setHiddenSize(256)
                .setNumLayers(4).setNumHeads(8).setNumKeyValueHeads(2).setIntermediateSize(512).setVocabSize(1000)
                .build()).optSeed(3).optShardBytes(600_000).build().write(dir);
        return dir;
    }

    /** Qwen2: q/k/v biases, tied embeddings, sharded. */
    private Path qwenShape() throws IOException {
        Path dir = tmp.resolve("qwen-shape");
        RandomCheckpoint.builder().setShape(ModelShape.builder().setModelType("qwen2").setHiddenSize(128)
                .setNumLayers(3).setNumHeads(4).setNumKeyValueHeads(2).setIntermediateSize(256).setVocabSize(500)
                .build()).optSeed(4).optShardBytes(200_000).build().write(dir);
        return dir;
    }

    private static LlamaForCausalLM load(Path model, NDManager m, QuantizationConfig q) throws IOException {
        HfConfig hf = HfConfig.read(model);
        try (TensorSource src = TensorSources.open(model)) {
            return q == null ? LlamaForCausalLM.load(LlamaConfig.from(hf), src, m, DataType.FLOAT32)
                    : LlamaForCausalLM.load(LlamaConfig.from(hf), src, m, DataType.FLOAT32,
                            QuantizedLoader.quantizing(q));
        }
    }

    /** Trains nothing: a PEFT-initialized adapter whose B is set to seeded normal values. */
    private Path adapter(Path model, LoraConfig config, String name) throws IOException {
        Path dir = tmp.resolve(name);
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(load(model, m, null), config, m, 11);
            Random random = new Random(5);
            for (LoraLinear l : LoraAdapters.loraLayers(peft).values()) {
                Parameter b = l.loraB(PeftModel.DEFAULT_ADAPTER).parameter("weight");
                Shape shape = b.getArray().getShape();
                float[] v = new float[(int) shape.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) random.nextGaussian() * 0.05f;
                }
                Params.assign(b, m.create(v, shape));
            }
            peft.save(dir);
        }
        return dir;
    }

    private static LoraConfig qv() {
        return LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(4).optLoraAlpha(8).build();
    }

    /** The in-memory merge's tensors by name, float32. */
    private static Map<String, float[]> inMemory(Path model, Path adapter, QuantizationConfig q) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<LlamaForCausalLM> peft = PeftModel.load(load(model, m, q), adapter, m);
            Module merged = peft.mergeAndUnloadDense();
            Map<String, float[]> out = new java.util.HashMap<>();
            merged.namedParameters().forEach((n, p) -> out.put(n, p.getArray().toType(DataType.FLOAT32, false)
                    .toFloatArray()));
            return out;
        }
    }

    private MergeReport stream(Path model, Path adapter, String name, OutputDtype dtype, LayerSelection layers,
            QuantizationConfig q, long shardBytes) throws IOException {
        try (TensorMergeRule rule = TensorMergeProviders.open(adapter)) {
            StreamingMerge.Builder b = StreamingMerge.builder().setBase(model).setRule(rule).optDtype(dtype)
                    .optShardBytes(shardBytes);
            if (layers != null) {
                b.optLayers(layers);
            }
            if (q != null) {
                b.optTransform(QuantizedRoundTrip.forLlama(model, q));
            }
            return b.build().write(tmp.resolve(name));
        }
    }

    /** Asserts each streamed tensor equals the in-memory one: bit-exact in F32, rounded once in BF16/F16. */
    private static int assertMatches(Path streamed, Map<String, float[]> want, DType expected) throws IOException {
        int n = 0;
        try (TensorSource s = TensorSources.open(streamed)) {
            for (String name : s.names()) {
                assertEquals(expected, s.info(name).dtype(), name);
                float[] w = want.get(name);
                float[] got = s.loadFloats(name);
                if (expected == DType.BF16) {
                    float[] r = new float[w.length];
                    for (int i = 0; i < r.length; i++) {
                        r[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(w[i]));
                    }
                    w = r;
                }
                assertArrayEquals(w, got, name);
                n++;
            }
        }
        return n;
    }

    @Test
    void bf16FixtureMergesExactlyInFloat32AndRoundedInBf16() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path adapter = adapter(model, qv(), "qv");
        Map<String, float[]> want = inMemory(model, adapter, null);

        MergeReport f32 = stream(model, adapter, "f32", OutputDtype.F32, null, null, 5_000_000_000L);
        assertEquals(21, assertMatches(f32.target(), want, DType.F32));
        assertEquals(4, f32.merged(), "q_proj and v_proj of 2 layers");
        assertEquals(1, f32.shards());
        assertEquals(List.of("config.json", "model.safetensors"), files(f32.target()));
        assertEquals("float32", JSON.readTree(f32.target().resolve("config.json").toFile()).get("torch_dtype").asText());

        MergeReport base = stream(model, adapter, "bf16", OutputDtype.BASE, null, null, 5_000_000_000L);
        assertEquals(21, assertMatches(base.target(), want, DType.BF16));
        assertEquals(HfConfig.read(model).json(), JSON.readTree(base.target().resolve("config.json").toFile()));
        // untouched tensors are the base's bytes
        try (TensorSource b = TensorSources.open(model); TensorSource s = TensorSources.open(base.target())) {
            String norm = "model.norm.weight";
            assertEquals(b.rawBytes(norm), s.rawBytes(norm));
            String q = "model.layers.0.self_attn.q_proj.weight";
            assertFalse(b.rawBytes(q).equals(s.rawBytes(q)), "q_proj is merged");
        }
    }

    @Test
    void shardedCheckpointsWithRsloraRankPatternAndDora() throws Exception {
        Path llama = llamaShape();
        LoraConfig rs = LoraConfig.builder().setTargetModules("q_proj", "v_proj", "down_proj").optR(4)
                .optLoraAlpha(8).optUseRslora(true).optRankPattern(Map.of("model.layers.1.self_attn.q_proj", 2))
                .optAlphaPattern(Map.of("model.layers.2.mlp.down_proj", 3.0)).build();
        Path adapter = adapter(llama, rs, "rslora");
        MergeReport r = stream(llama, adapter, "rs-out", OutputDtype.F32, null, null, 1_500_000);
        assertEquals(r.tensors(), assertMatches(r.target(), inMemory(llama, adapter, null), DType.F32));
        assertEquals(12, r.merged());
        assertTrue(r.shards() > 1, "sharded output: " + r.shards());
        JsonNode index = JSON.readTree(r.target().resolve(ShardedSafetensors.INDEX_FILE).toFile());
        assertEquals(r.bytes(), index.get("metadata").get("total_size").asLong());
        try (TensorSource b = TensorSources.open(llama)) {
            assertEquals(b.names().size(), index.get("weight_map").size());
            assertEquals(4 * b.names().stream().mapToLong(n -> b.info(n).numel()).sum(), r.bytes());
        }

        // in the base's dtype and shard size, the output has the base's layout: same files, same weight_map
        MergeReport same = stream(llama, adapter, "same-layout", OutputDtype.BASE, null, null, 600_000);
        assertEquals(files(llama), files(same.target()));
        assertEquals(JSON.readTree(llama.resolve(ShardedSafetensors.INDEX_FILE).toFile()).get("weight_map"),
                JSON.readTree(same.target().resolve(ShardedSafetensors.INDEX_FILE).toFile()).get("weight_map"));

        Path qwen = qwenShape();
        LoraConfig dora = LoraConfig.builder().setTargetModules("q_proj", "k_proj", "o_proj").optR(2)
                .optLoraAlpha(4).optUseDora(true).build();
        Path doraAdapter = adapter(qwen, dora, "dora");
        MergeReport d = stream(qwen, doraAdapter, "dora-out", OutputDtype.F32, null, null, 300_000);
        assertEquals(d.tensors(), assertMatches(d.target(), inMemory(qwen, doraAdapter, null), DType.F32));
        assertEquals(9, d.merged());
    }

    @Test
    void qloraNf4DoubleQuantEqualsTheInMemoryDenseMerge() throws Exception {
        Path llama = llamaShape();
        QuantizationConfig nf4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).optBlocksize(64)
                .optDoubleQuant(true).build();
        Path adapter = adapter(llama, qv(), "qlora");
        Map<String, float[]> want = inMemory(llama, adapter, nf4);
        MergeReport r = stream(llama, adapter, "qlora-out", OutputDtype.F32, null, nf4, 5_000_000_000L);
        assertEquals(r.tensors(), assertMatches(r.target(), want, DType.F32));
        assertEquals(8, r.merged());
        assertEquals(28, r.transformed(), "7 linear layers x 4 decoder layers; lm_head is skipped");
        MergeReport bf16 = stream(llama, adapter, "qlora-bf16", OutputDtype.BASE, null, nf4, 5_000_000_000L);
        assertMatches(bf16.target(), want, DType.BF16);

        Path fixture = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        QuantizationConfig small = QuantizationConfig.builder().setQuantType(QuantType.FP4).optBlocksize(32)
                .optDoubleQuant(false).build();
        Path fa = adapter(fixture, qv(), "fixture-qlora");
        MergeReport f = stream(fixture, fa, "fixture-fp4", OutputDtype.F32, null, small, 5_000_000_000L);
        assertEquals(21, assertMatches(f.target(), inMemory(fixture, fa, small), DType.F32));
    }

    @Test
    void aLayerSubsetHoldsExactlyItsLayersTensors() throws Exception {
        Path llama = llamaShape();
        Path adapter = adapter(llama, qv(), "subset-adapter");
        MergeReport r = stream(llama, adapter, "subset", OutputDtype.BASE, LayerSelection.parse("3,0"), null,
                5_000_000_000L);
        List<String> expected = new ArrayList<>();
        try (TensorSource b = TensorSources.open(llama)) {
            for (String n : b.names()) {
                if (n.startsWith("model.layers.0.") || n.startsWith("model.layers.3.")) {
                    expected.add(n);
                }
            }
        }
        assertEquals(18, expected.size());
        try (TensorSource s = TensorSources.open(r.target())) {
            assertEquals(expected.stream().sorted().toList(), s.names().stream().sorted().toList());
            assertEquals("layers 3,0", s.metadata().get(StreamingMerge.SUBSET_KEY));
        }
        assertEquals(4, r.merged());
        assertEquals(18, assertMatches(r.target(), inMemory(llama, adapter, null), DType.BF16));

        IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                () -> stream(llama, adapter, "never", OutputDtype.BASE, LayerSelection.parse("2-4"), null, 1L << 40));
        assertEquals("layer 4 of '2-4' is out of range: the model has 4 layers (0-3)", range.getMessage());
        assertNothingLeft("never");
    }

    @Test
    void badInputNamesTheTensorOrFileAndLeavesNothing() throws Exception {
        Path llama = llamaShape();
        Path adapter = adapter(llama, qv(), "good");

        // an adapter key whose target the base lacks
        Path missing = badAdapter(adapter, "missing", "base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight",
                new Shape(4, 256), "base_model.model.model.layers.9.self_attn.q_proj.lora_B.weight", new Shape(256, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> stream(llama, missing, "out1", OutputDtype.BASE, null, null, 1L << 40));
        assertEquals(missing + ": adapter key 'base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight' targets"
                + " 'model.layers.9.self_attn.q_proj.weight', which the base " + llama.resolve("model.safetensors.index.json")
                + " does not have", e.getMessage());
        assertNothingLeft("out1");

        // a shape mismatch
        Path shape = badAdapter(adapter, "shape", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                new Shape(4, 128), "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", new Shape(256, 4));
        e = assertThrows(IllegalArgumentException.class,
                () -> stream(llama, shape, "out2", OutputDtype.BASE, null, null, 1L << 40));
        assertTrue(e.getMessage().startsWith(shape + ": lora_A [4, 128] and lora_B [256, 4] of"
                + " 'model.layers.0.self_attn.q_proj' do not fit base tensor 'model.layers.0.self_attn.q_proj.weight'"
                + " [256, 256]"), e.getMessage());
        assertNothingLeft("out2");

        // a missing shard
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        try (Stream<Path> s = Files.list(llama)) {
            for (Path p : s.toList()) {
                Files.copy(p, broken.resolve(p.getFileName()));
            }
        }
        String shard = files(broken).stream().filter(f -> f.startsWith("model-00002-of-")).findFirst().orElseThrow();
        Files.delete(broken.resolve(shard));
        Exception io = assertThrows(IOException.class,
                () -> stream(broken, adapter, "out3", OutputDtype.BASE, null, null, 1L << 40));
        assertTrue(io.getMessage().contains(shard), io.getMessage());
        assertNothingLeft("out3");
    }

    /** The good adapter's config with a weights file holding only the given A and B. */
    private Path badAdapter(Path good, String name, String aKey, Shape a, String bKey, Shape b) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(good.resolve("adapter_config.json"), dir.resolve("adapter_config.json"));
        try (NDManager m = NDManager.newBaseManager()) {
            SafetensorsWriter.create().add(aKey, m.ones(a)).add(bKey, m.ones(b))
                    .write(dir.resolve("adapter_model.safetensors"));
        }
        return dir;
    }

    private void assertNothingLeft(String name) throws IOException {
        assertFalse(Files.exists(tmp.resolve(name)), name + " exists");
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "temporary directory left");
        }
    }

    private static List<String> files(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
