package dev.peft4j.tuners.prompt;

import dev.peft4j.core.peft.PeftMethods;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The prompt-learning configurations: PEFT's JSON both ways, defaults, bad fields named. */
class PromptConfigTest {

    @Test
    void promptTuningJsonIsPeftsAndRoundTrips() {
        PromptTuningConfig c = PromptTuningConfig.builder().setNumVirtualTokens(8).optTaskType("CAUSAL_LM")
                .optPromptTuningInit(PromptTuningInit.TEXT).optPromptTuningInitText("Classify:")
                .optTokenizerNameOrPath("/models/llama").build();
        assertEquals("{\n"
                + "  \"auto_mapping\": null,\n"
                + "  \"base_model_name_or_path\": null,\n"
                + "  \"inference_mode\": false,\n"
                + "  \"modules_to_save\": null,\n"
                + "  \"num_attention_heads\": null,\n"
                + "  \"num_layers\": null,\n"
                + "  \"num_transformer_submodules\": null,\n"
                + "  \"num_virtual_tokens\": 8,\n"
                + "  \"peft_type\": \"PROMPT_TUNING\",\n"
                + "  \"prompt_tuning_init\": \"TEXT\",\n"
                + "  \"prompt_tuning_init_text\": \"Classify:\",\n"
                + "  \"revision\": null,\n"
                + "  \"task_type\": \"CAUSAL_LM\",\n"
                + "  \"token_dim\": null,\n"
                + "  \"tokenizer_kwargs\": null,\n"
                + "  \"tokenizer_name_or_path\": \"/models/llama\"\n"
                + "}", c.toJson());
        assertEquals(c, PromptTuningConfig.parse(c.toJson()));
        assertEquals(PromptTuningInit.RANDOM, PromptTuningConfig.parse(
                "{\"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 3}").promptTuningInit());
    }

    @Test
    void prefixAndPTuningJsonRoundTrip() {
        PrefixTuningConfig p = PrefixTuningConfig.builder().setNumVirtualTokens(6).optPrefixProjection(true)
                .optEncoderHiddenSize(16).optInitWeights("zero").build();
        assertEquals(p, PrefixTuningConfig.parse(p.toJson()));
        assertEquals(List.of("auto_mapping", "base_model_name_or_path", "encoder_hidden_size", "inference_mode",
                "init_weights", "modules_to_save", "num_attention_heads", "num_layers", "num_transformer_submodules",
                "num_virtual_tokens", "peft_type", "prefix_projection", "revision", "task_type", "token_dim"),
                List.copyOf(p.toMap().keySet()), "the keys PEFT 0.20 writes, sorted");
        PromptEncoderConfig e = PromptEncoderConfig.builder().setNumVirtualTokens(20).optEncoderHiddenSize(128)
                .optTaskType("SEQ_CLS").build();
        assertEquals(e, PromptEncoderConfig.parse(e.toJson()));
        assertEquals("MLP", e.encoderReparameterizationType());
        assertEquals(2, e.encoderNumLayers());
    }

    @Test
    void methodsAreFoundByPeftType() {
        assertInstanceOf(PromptTuningMethod.class, PeftMethods.forType("PROMPT_TUNING"));
        assertInstanceOf(PTuningMethod.class, PeftMethods.forType("P_TUNING"));
        assertInstanceOf(PrefixTuningMethod.class, PeftMethods.forType("PREFIX_TUNING"));
    }

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void badFieldsAreNamed() {
        assertEquals("num_virtual_tokens must be positive, got 0",
                message(() -> PromptTuningConfig.builder().build()));
        assertEquals("prompt_tuning_init_text is required when prompt_tuning_init is TEXT",
                message(() -> PromptTuningConfig.builder().setNumVirtualTokens(4)
                        .optPromptTuningInit(PromptTuningInit.TEXT).build()));
        assertEquals("prompt_tuning_init must be one of RANDOM, TEXT, SAMPLE_VOCAB, got \"ZERO\"",
                message(() -> PromptTuningConfig.parse("{\"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 4,"
                        + " \"prompt_tuning_init\": \"ZERO\"}")));
        assertEquals("token_dim must be an integer, got \"32\"",
                message(() -> PromptTuningConfig.parse("{\"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 4,"
                        + " \"token_dim\": \"32\"}")));
        assertEquals("missing required key 'num_virtual_tokens'",
                message(() -> PrefixTuningConfig.parse("{\"peft_type\": \"PREFIX_TUNING\"}")));
        assertEquals("peft_type must be \"PREFIX_TUNING\", got \"P_TUNING\"",
                message(() -> PrefixTuningConfig.parse("{\"peft_type\": \"P_TUNING\", \"num_virtual_tokens\": 4}")));
        assertEquals("num_transformer_submodules must be 1 (2 is for encoder-decoder models, which peft4j does not"
                + " have), got 2", message(() -> PrefixTuningConfig.parse("{\"peft_type\": \"PREFIX_TUNING\","
                + " \"num_virtual_tokens\": 4, \"num_transformer_submodules\": 2}")));
        assertEquals("init_weights must be null or \"zero\", got \"ones\"",
                message(() -> PrefixTuningConfig.builder().setNumVirtualTokens(2).optInitWeights("ones").build()));
        assertEquals("encoder_reparameterization_type \"LSTM\" is not supported: peft4j implements PEFT's MLP"
                + " prompt encoder only", message(() -> PromptEncoderConfig.parse("{\"peft_type\": \"P_TUNING\","
                + " \"num_virtual_tokens\": 4, \"encoder_reparameterization_type\": \"LSTM\"}")));
        assertEquals("task_type \"SEQ_2_SEQ_LM\" is not supported for prompt learning (peft4j has no"
                + " encoder-decoder models; use one of [CAUSAL_LM, FEATURE_EXTRACTION, QUESTION_ANS, SEQ_CLS,"
                + " TOKEN_CLS] or null)", message(() -> PromptEncoderConfig.builder().setNumVirtualTokens(4)
                .optTaskType("SEQ_2_SEQ_LM").build()));
    }
}
