package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.ArrayTensorSource;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.nn.StateDictException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Models built in code: saved, loaded back, run. */
class LlamaLoadTest {

    private static final long[] IDS = {5, 9, 33, 2, 61};

    private static Map<String, NDArray> stateDict(LlamaForCausalLM lm) {
        Map<String, NDArray> sd = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : lm.namedParameters().entrySet()) {
            sd.put(e.getKey(), e.getValue().getArray());
        }
        return sd;
    }

    private static float[] logits(LlamaForCausalLM lm, NDManager m) {
        return lm.forward(new ParameterStore(m, false), m.create(IDS, new Shape(1, IDS.length)), null, null, null,
                false).logits().toFloatArray();
    }

    @Test
    void mistralSavedAndLoadedGivesSameLogits(@TempDir Path dir) throws Exception {
        ObjectNode json = LlamaTestSupport.tinyConfig("mistral");
        json.putArray("architectures").add("MistralForCausalLM");
        json.put("head_dim", 16); // wider than hidden / heads, as Mistral allows
        json.put("sliding_window", 4096);
        json.put("rope_theta", 1000000.0);
        json.put("eos_token_id", 2);
        LlamaConfig config = LlamaConfig.of(json, "mistral");
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM original = LlamaTestSupport.randomModel(config, m, 3);
            assertEquals(new Shape(64, 32), original.getModule("model.layers.0.self_attn.q_proj")
                    .parameter("weight").getArray().getShape());
            Map<String, NDArray> sd = stateDict(original);
            sd.put("model.layers.0.self_attn.rotary_emb.inv_freq", m.ones(new Shape(8))); // old buffer
            Files.writeString(dir.resolve("config.json"), LlamaTestSupport.MAPPER.writeValueAsString(json));
            SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
            sd.forEach(writer::add);
            writer.write(dir.resolve("model.safetensors"));

            LlamaForCausalLM loaded = LlamaForCausalLM.load(dir, m);
            float[] want = logits(original, m);
            assertArrayEquals(want, logits(loaded, m), 0f);
            for (float v : want) {
                assertTrue(Float.isFinite(v));
            }
            long[] tokens = new Generator(loaded).generate(m, IDS,
                    GenerationConfig.builder().setMaxNewTokens(4).optEosTokenIds().build()).tokens();
            assertEquals(4, tokens.length);
        }
    }

    @Test
    void halfPrecisionCheckpointLoadsAsFloat32(@TempDir Path dir) throws Exception {
        ObjectNode json = LlamaTestSupport.tinyConfig("llama");
        LlamaConfig config = LlamaConfig.of(json, "llama");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> half = new LinkedHashMap<>();
            stateDict(LlamaTestSupport.randomModel(config, m, 5))
                    .forEach((k, v) -> half.put(k, v.toType(DataType.FLOAT16, true)));
            SafetensorsWriter writer = SafetensorsWriter.create();
            half.forEach(writer::add);
            writer.write(dir.resolve("model.safetensors"));
            Files.writeString(dir.resolve("config.json"), LlamaTestSupport.MAPPER.writeValueAsString(json));

            LlamaForCausalLM loaded = LlamaForCausalLM.load(dir, m);
            Parameter w = loaded.namedParameters().get("model.layers.0.mlp.up_proj.weight");
            assertEquals(DataType.FLOAT32, w.getArray().getDataType());
            LlamaForCausalLM fromMemory =
                    LlamaForCausalLM.load(config, ArrayTensorSource.of(half), m, DataType.FLOAT32);
            assertArrayEquals(logits(fromMemory, m), logits(loaded, m), 0f);
        }
    }

    @Test
    void tiedModelLoadsWithoutLmHeadAndStrictLoadNamesProblems() {
        ObjectNode json = LlamaTestSupport.tinyConfig("qwen2");
        json.put("tie_word_embeddings", true);
        LlamaConfig config = LlamaConfig.of(json, "qwen2");
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM original = LlamaTestSupport.randomModel(config, m, 4);
            Map<String, NDArray> sd = stateDict(original);
            assertTrue(!sd.containsKey("lm_head.weight"));
            LlamaForCausalLM loaded = LlamaForCausalLM.load(config, ArrayTensorSource.of(sd), m, DataType.FLOAT32);
            assertArrayEquals(logits(original, m), logits(loaded, m), 0f);

            sd.remove("model.layers.1.mlp.up_proj.weight");
            sd.put("model.layers.1.self_attn.o_proj.bias", m.zeros(new Shape(32)));
            StateDictException e = assertThrows(StateDictException.class,
                    () -> LlamaForCausalLM.load(config, ArrayTensorSource.of(sd), m, DataType.FLOAT32));
            assertEquals("state dict from <memory> does not match the model, nothing was loaded;"
                    + " 1 missing: model.layers.1.mlp.up_proj.weight;"
                    + " 1 unexpected: model.layers.1.self_attn.o_proj.bias", e.getMessage());
        }
    }
}
