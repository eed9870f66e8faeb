package dev.peft4j.tuners.prompt;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.peft.PeftConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code PromptEncoderConfig} ({@code peft_type} {@code P_TUNING}): prompt tuning whose
 * virtual tokens are, during training, the output of PEFT's MLP reparameterization {@code
 * Embedding(n, token_dim) → Linear(token_dim, h) → ReLU → Linear(h, h) → ReLU → Linear(h,
 * token_dim)} ({@code h = encoder_hidden_size}); the output is saved as {@code prompt_embeddings}
 * and a loaded adapter is that plain table. Only the {@code MLP} encoder is supported (PEFT also
 * has an LSTM).
 *
 * <pre>{@code
 * PromptEncoderConfig c = PromptEncoderConfig.builder().setNumVirtualTokens(8)
 *         .optEncoderHiddenSize(64).optTaskType("SEQ_CLS").build();
 * }</pre>
 *
 * @param taskType PEFT's {@code task_type}, or null
 * @param numVirtualTokens {@code num_virtual_tokens}, positive
 * @param tokenDim {@code token_dim} (the hidden size), or null
 * @param numTransformerSubmodules {@code num_transformer_submodules} (1), or null
 * @param numAttentionHeads {@code num_attention_heads}, or null
 * @param numLayers {@code num_layers}, or null
 * @param encoderReparameterizationType {@code encoder_reparameterization_type}: {@code MLP}
 * @param encoderHiddenSize {@code encoder_hidden_size} ({@code token_dim} when null)
 * @param encoderNumLayers {@code encoder_num_layers} (2; ignored by the MLP, as in PEFT)
 * @param encoderDropout {@code encoder_dropout} (LSTM only; kept in the file)
 * @param modulesToSave {@code modules_to_save}, or null
 * @param inferenceMode {@code inference_mode}
 * @param baseModelNameOrPath {@code base_model_name_or_path}, or null
 * @param revision {@code revision}, or null
 */
public record PromptEncoderConfig(String taskType, int numVirtualTokens, Integer tokenDim,
                                  Integer numTransformerSubmodules, Integer numAttentionHeads, Integer numLayers,
                                  String encoderReparameterizationType, Integer encoderHiddenSize,
                                  int encoderNumLayers, double encoderDropout, List<String> modulesToSave,
                                  boolean inferenceMode, String baseModelNameOrPath, String revision)
        implements PeftConfig {

    /** PEFT's name of the method. */
    public static final String PEFT_TYPE = "P_TUNING";

    private static final Set<String> OWN = Set.of("encoder_reparameterization_type", "encoder_hidden_size",
            "encoder_num_layers", "encoder_dropout");

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException naming the first invalid field
     */
    public PromptEncoderConfig {
        ConfigChecks.common(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules, numAttentionHeads,
                numLayers);
        if (encoderReparameterizationType == null) {
            encoderReparameterizationType = "MLP";
        }
        if (!encoderReparameterizationType.equals("MLP")) {
            throw new IllegalArgumentException("encoder_reparameterization_type \"" + encoderReparameterizationType
                    + "\" is not supported: peft4j implements PEFT's MLP prompt encoder only");
        }
        ConfigChecks.positiveOrNull("encoder_hidden_size", encoderHiddenSize);
        ConfigChecks.positive("encoder_num_layers", encoderNumLayers);
        if (!(encoderDropout >= 0 && encoderDropout < 1)) {
            throw new IllegalArgumentException("encoder_dropout must be in [0, 1), got " + encoderDropout);
        }
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public PromptEncoderConfig withInferenceMode(boolean mode) {
        return new PromptEncoderConfig(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules,
                numAttentionHeads, numLayers, encoderReparameterizationType, encoderHiddenSize, encoderNumLayers,
                encoderDropout, modulesToSave, mode, baseModelNameOrPath, revision);
    }

    @Override
    public PromptEncoderConfig withModulesToSave(List<String> modules) {
        return new PromptEncoderConfig(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules,
                numAttentionHeads, numLayers, encoderReparameterizationType, encoderHiddenSize, encoderNumLayers,
                encoderDropout, modules, inferenceMode, baseModelNameOrPath, revision);
    }

    /** @return a copy with the sizes PEFT fills from the base model */
    PromptEncoderConfig withSizes(int dim, int submodules, int heads, int layers, int encoderHidden) {
        return new PromptEncoderConfig(taskType, numVirtualTokens, dim, submodules, heads, layers,
                encoderReparameterizationType, encoderHidden, encoderNumLayers, encoderDropout, modulesToSave,
                inferenceMode, baseModelNameOrPath, revision);
    }

    /** @return PEFT's key → value map */
    public Map<String, Object> toMap() {
        Map<String, Object> m = PromptJson.common(PEFT_TYPE, taskType, numVirtualTokens, tokenDim,
                numTransformerSubmodules, numAttentionHeads, numLayers, modulesToSave, inferenceMode,
                baseModelNameOrPath, revision);
        m.put("encoder_reparameterization_type", encoderReparameterizationType);
        m.put("encoder_hidden_size", encoderHiddenSize);
        m.put("encoder_num_layers", encoderNumLayers);
        m.put("encoder_dropout", encoderDropout);
        return m;
    }

    /** @return the configuration as PEFT writes it (sorted keys, two-space indent) */
    public String toJson() {
        return PromptJson.toJson(toMap());
    }

    /**
     * @param file an {@code adapter_config.json}
     * @return the configuration
     * @throws IOException when reading fails
     * @throws IllegalArgumentException naming the file and the field
     */
    public static PromptEncoderConfig read(Path file) throws IOException {
        return PromptJson.read(file, PEFT_TYPE, OWN, PromptEncoderConfig::fromJson);
    }

    /**
     * @param json the configuration as JSON text
     * @return the configuration
     * @throws IllegalArgumentException naming the field
     */
    public static PromptEncoderConfig parse(String json) {
        return PromptJson.parse(json, PEFT_TYPE, OWN, PromptEncoderConfig::fromJson);
    }

    private static PromptEncoderConfig fromJson(ObjectNode o) {
        Integer layers = PromptJson.optInt(o, "encoder_num_layers");
        return new PromptEncoderConfig(PromptJson.optString(o, "task_type"),
                PromptJson.requiredInt(o, "num_virtual_tokens"), PromptJson.optInt(o, "token_dim"),
                PromptJson.optInt(o, "num_transformer_submodules"), PromptJson.optInt(o, "num_attention_heads"),
                PromptJson.optInt(o, "num_layers"), PromptJson.optString(o, "encoder_reparameterization_type"),
                PromptJson.optInt(o, "encoder_hidden_size"), layers == null ? 2 : layers,
                PromptJson.optDouble(o, "encoder_dropout", 0.0), PromptJson.optStrings(o, "modules_to_save"),
                PromptJson.optBoolean(o, "inference_mode", false), PromptJson.optString(o, "base_model_name_or_path"),
                PromptJson.optString(o, "revision"));
    }

    /** Builds a {@link PromptEncoderConfig}; {@code num_virtual_tokens} is required. */
    public static final class Builder {

        private String taskType;
        private int numVirtualTokens;
        private Integer encoderHiddenSize;
        private List<String> modulesToSave;
        private String baseModel;

        private Builder() {}

        /**
         * @param n {@code num_virtual_tokens}
         * @return this
         */
        public Builder setNumVirtualTokens(int n) {
            this.numVirtualTokens = n;
            return this;
        }

        /**
         * @param taskType {@code task_type}
         * @return this
         */
        public Builder optTaskType(String taskType) {
            this.taskType = taskType;
            return this;
        }

        /**
         * @param size {@code encoder_hidden_size}; {@code token_dim} by default
         * @return this
         */
        public Builder optEncoderHiddenSize(int size) {
            this.encoderHiddenSize = size;
            return this;
        }

        /**
         * @param modules {@code modules_to_save}
         * @return this
         */
        public Builder optModulesToSave(List<String> modules) {
            this.modulesToSave = modules;
            return this;
        }

        /**
         * @param name {@code base_model_name_or_path}
         * @return this
         */
        public Builder optBaseModelNameOrPath(String name) {
            this.baseModel = name;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the first invalid field
         */
        public PromptEncoderConfig build() {
            return new PromptEncoderConfig(taskType, numVirtualTokens, null, null, null, null, "MLP",
                    encoderHiddenSize, 2, 0.0, modulesToSave, false, baseModel, null);
        }
    }
}
