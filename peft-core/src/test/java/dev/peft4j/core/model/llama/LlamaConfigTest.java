package dev.peft4j.core.model.llama;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.ConfigException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlamaConfigTest {

    private static LlamaConfig of(ObjectNode json) {
        return LlamaConfig.of(json, "test/config.json");
    }

    private static String error(ObjectNode json) {
        return assertThrows(ConfigException.class, () -> of(json)).getMessage();
    }

    @Test
    void readsFixtureConfigs() {
        LlamaConfig llama = LlamaConfig.read(LlamaTestSupport.tinyCausalLm().resolve("llama-bf16"));
        assertEquals("llama", llama.modelType());
        assertEquals(32, llama.hiddenSize());
        assertEquals(96, llama.intermediateSize());
        assertEquals(2, llama.numHiddenLayers());
        assertEquals(4, llama.numAttentionHeads());
        assertEquals(2, llama.numKeyValueHeads());
        assertEquals(2, llama.numKeyValueGroups());
        assertEquals(8, llama.headDim());
        assertEquals(128, llama.vocabSize());
        assertEquals(1e-6, llama.rmsNormEps());
        assertEquals(10000.0, llama.ropeTheta());
        assertEquals(RopeScaling.none(), llama.ropeScaling());
        assertEquals(128, llama.maxPositionEmbeddings());
        assertFalse(llama.tieWordEmbeddings());
        assertFalse(llama.qkvBias());
        assertFalse(llama.outputProjectionBias());
        assertFalse(llama.mlpBias());
        assertEquals(List.of(2L), llama.eosTokenIds());

        LlamaConfig qwen = LlamaConfig.read(LlamaTestSupport.tinyCausalLm().resolve("qwen2-f32-sharded"));
        assertEquals("qwen2", qwen.modelType());
        assertTrue(qwen.tieWordEmbeddings());
        assertTrue(qwen.qkvBias());
        assertFalse(qwen.outputProjectionBias());
        assertEquals(OptionalInt.empty(), qwen.slidingWindow());
    }

    @Test
    void appliesTransformersDefaults() {
        ObjectNode c = LlamaTestSupport.tinyConfig("llama");
        c.remove("num_key_value_heads");
        c.remove("rms_norm_eps");
        c.remove("hidden_act");
        LlamaConfig cfg = of(c);
        assertEquals(4, cfg.numKeyValueHeads());
        assertEquals(8, cfg.headDim());
        assertEquals(1e-6, cfg.rmsNormEps());
        assertEquals(10000.0, cfg.ropeTheta());
        assertEquals(2048, cfg.maxPositionEmbeddings());
        assertFalse(cfg.tieWordEmbeddings());
        assertEquals(List.of(), cfg.eosTokenIds());

        c.put("attention_bias", true);
        c.put("mlp_bias", true);
        c.put("head_dim", 16);
        c.putArray("eos_token_id").add(2).add(7);
        cfg = of(c);
        assertTrue(cfg.qkvBias());
        assertTrue(cfg.outputProjectionBias());
        assertTrue(cfg.mlpBias());
        assertEquals(16, cfg.headDim());
        assertEquals(List.of(2L, 7L), cfg.eosTokenIds());

        ObjectNode m = LlamaTestSupport.tinyConfig("mistral");
        m.putArray("architectures").add("MistralForCausalLM");
        assertEquals(OptionalInt.of(4096), of(m).slidingWindow(), "MistralConfig's default");
        m.putNull("sliding_window");
        assertEquals(OptionalInt.empty(), of(m).slidingWindow());
        m.put("attention_bias", true);
        assertFalse(of(m).qkvBias(), "Mistral has no attention bias");
    }

    @Test
    void parsesRopeScaling() {
        ObjectNode c = LlamaTestSupport.tinyConfig("llama");
        c.putObject("rope_scaling").put("type", "linear").put("factor", 4.0);
        assertEquals(RopeScaling.linear(4), of(c).ropeScaling());

        c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
        c.put("rope_theta", 500000.0);
        LlamaConfig cfg = of(c);
        assertEquals(RopeScaling.llama3(8, 1, 4, 8192), cfg.ropeScaling());
        assertEquals(500000.0, cfg.ropeTheta());

        c.putObject("rope_scaling").put("rope_type", "default");
        assertEquals(RopeScaling.none(), of(c).ropeScaling());
    }

    @Test
    void rejectsUnsupportedConfigsNamingFileAndField() {
        ObjectNode c = LlamaTestSupport.tinyConfig("gpt2");
        assertEquals("test/config.json: unsupported model_type 'gpt2' (supported: llama, qwen2, mistral)", error(c));

        c = LlamaTestSupport.tinyConfig("llama");
        c.putArray("architectures").add("LlamaForSequenceClassification");
        assertEquals("test/config.json: unsupported architecture 'LlamaForSequenceClassification' (supported:"
                + " LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM)", error(c));

        c = LlamaTestSupport.tinyConfig("llama");
        c.put("hidden_act", "gelu");
        assertEquals("test/config.json: hidden_act 'gelu' is not supported (Llama-family models use 'silu')",
                error(c));

        c = LlamaTestSupport.tinyConfig("qwen2");
        c.remove("intermediate_size");
        assertEquals("test/config.json: required field 'intermediate_size' is missing", error(c));

        c = LlamaTestSupport.tinyConfig("llama");
        c.remove("model_type");
        assertEquals("test/config.json: required field 'model_type' is missing", error(c));

        c = LlamaTestSupport.tinyConfig("llama");
        c.put("num_key_value_heads", 3);
        assertEquals("test/config.json: num_attention_heads (4) must be a multiple of num_key_value_heads (3)",
                error(c));

        c = LlamaTestSupport.tinyConfig("llama");
        c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        assertEquals("test/config.json: rope_scaling type 'yarn' is not supported (supported: linear, llama3)",
                error(c));

        c = LlamaTestSupport.tinyConfig("llama");
        c.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0)
                .put("original_max_position_embeddings", 8192);
        assertEquals("test/config.json: required field 'rope_scaling.high_freq_factor' is missing", error(c));

        c = LlamaTestSupport.tinyConfig("llama");
        c.put("vocab_size", "many");
        assertEquals("test/config.json: field 'vocab_size' must be an integer, got \"many\"", error(c));
    }
}
