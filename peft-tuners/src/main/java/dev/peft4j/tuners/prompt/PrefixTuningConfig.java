package dev.peft4j.tuners.prompt;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.peft.PeftConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code PrefixTuningConfig} ({@code peft_type} {@code PREFIX_TUNING}): per layer, {@code n}
 * trained keys and values placed before the real tokens' in every attention layer. The prefix is a
 * table {@code [n, num_layers·2·token_dim]} in PEFT's flat layout; with {@code prefix_projection}
 * it is computed during training by PEFT's MLP {@code Embedding(n, token_dim) → Linear(token_dim,
 * encoder_hidden_size) → Tanh → Linear(encoder_hidden_size, num_layers·2·token_dim)}, and the
 * MLP's output is what is saved. For grouped-query attention {@code token_dim} is {@code head_dim ·
 * kv_heads} and {@code num_attention_heads} the key/value heads (PEFT's rewrite); sizes left null
 * are filled from the base model, sizes given must match it.
 *
 * <pre>{@code
 * PrefixTuningConfig c = PrefixTuningConfig.builder().setNumVirtualTokens(6)
 *         .optTaskType("CAUSAL_LM").build();
 * }</pre>
 *
 * @param taskType PEFT's {@code task_type}, or null
 * @param numVirtualTokens {@code num_virtual_tokens}, positive
 * @param tokenDim {@code token_dim} ({@code head_dim · kv_heads}), or null
 * @param numTransformerSubmodules {@code num_transformer_submodules} (1), or null
 * @param numAttentionHeads {@code num_attention_heads} (key/value heads), or null
 * @param numLayers {@code num_layers}, or null
 * @param encoderHiddenSize {@code encoder_hidden_size} (the MLP's width; {@code token_dim} when null)
 * @param prefixProjection {@code prefix_projection}
 * @param initWeights {@code init_weights}: null or {@code "zero"} (the MLP's last layer, or the
 *     table, starts at zero)
 * @param modulesToSave {@code modules_to_save}, or null
 * @param inferenceMode {@code inference_mode}
 * @param baseModelNameOrPath {@code base_model_name_or_path}, or null
 * @param revision {@code revision}, or null
 */
public record PrefixTuningConfig(String taskType, int numVirtualTokens, Integer tokenDim,
                                 Integer numTransformerSubmodules, Integer numAttentionHeads, Integer numLayers,
                                 Integer encoderHiddenSize, boolean prefixProjection, String initWeights,
                                 List<String> modulesToSave, boolean inferenceMode, String baseModelNameOrPath,
                                 String revision) implements PeftConfig {

    /** PEFT's name of the method. */
    public static final String PEFT_TYPE = "PREFIX_TUNING";

    private static final Set<String> OWN = Set.of("encoder_hidden_size", "prefix_projection", "init_weights");

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException naming the first invalid field
     */
    public PrefixTuningConfig {
        ConfigChecks.common(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules, numAttentionHeads,
                numLayers);
        ConfigChecks.positiveOrNull("encoder_hidden_size", encoderHiddenSize);
        if (initWeights != null && !initWeights.equals("zero")) {
            throw new IllegalArgumentException("init_weights must be null or \"zero\", got \"" + initWeights + "\"");
        }
        if (tokenDim != null && numAttentionHeads != null && tokenDim % numAttentionHeads != 0) {
            throw new IllegalArgumentException("token_dim " + tokenDim + " is not a multiple of num_attention_heads "
                    + numAttentionHeads);
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
    public PrefixTuningConfig withInferenceMode(boolean mode) {
        return new PrefixTuningConfig(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules,
                numAttentionHeads, numLayers, encoderHiddenSize, prefixProjection, initWeights, modulesToSave, mode,
                baseModelNameOrPath, revision);
    }

    @Override
    public PrefixTuningConfig withModulesToSave(List<String> modules) {
        return new PrefixTuningConfig(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules,
                numAttentionHeads, numLayers, encoderHiddenSize, prefixProjection, initWeights, modules,
                inferenceMode, baseModelNameOrPath, revision);
    }

    /** @return a copy with the sizes PEFT fills from the base model */
    PrefixTuningConfig withSizes(int dim, int submodules, int heads, int layers, int encoderHidden) {
        return new PrefixTuningConfig(taskType, numVirtualTokens, dim, submodules, heads, layers, encoderHidden,
                prefixProjection, initWeights, modulesToSave, inferenceMode, baseModelNameOrPath, revision);
    }

    /** @return PEFT's key → value map */
    public Map<String, Object> toMap() {
        Map<String, Object> m = PromptJson.common(PEFT_TYPE, taskType, numVirtualTokens, tokenDim,
                numTransformerSubmodules, numAttentionHeads, numLayers, modulesToSave, inferenceMode,
                baseModelNameOrPath, revision);
        m.put("encoder_hidden_size", encoderHiddenSize);
        m.put("prefix_projection", prefixProjection);
        m.put("init_weights", initWeights);
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
    public static PrefixTuningConfig read(Path file) throws IOException {
        return PromptJson.read(file, PEFT_TYPE, OWN, PrefixTuningConfig::fromJson);
    }

    /**
     * @param json the configuration as JSON text
     * @return the configuration
     * @throws IllegalArgumentException naming the field
     */
    public static PrefixTuningConfig parse(String json) {
        return PromptJson.parse(json, PEFT_TYPE, OWN, PrefixTuningConfig::fromJson);
    }

    private static PrefixTuningConfig fromJson(ObjectNode o) {
        return new PrefixTuningConfig(PromptJson.optString(o, "task_type"),
                PromptJson.requiredInt(o, "num_virtual_tokens"), PromptJson.optInt(o, "token_dim"),
                PromptJson.optInt(o, "num_transformer_submodules"), PromptJson.optInt(o, "num_attention_heads"),
                PromptJson.optInt(o, "num_layers"), PromptJson.optInt(o, "encoder_hidden_size"),
                PromptJson.optBoolean(o, "prefix_projection", false), PromptJson.optString(o, "init_weights"),
                PromptJson.optStrings(o, "modules_to_save"), PromptJson.optBoolean(o, "inference_mode", false),
                PromptJson.optString(o, "base_model_name_or_path"), PromptJson.optString(o, "revision"));
    }

    /** Builds a {@link PrefixTuningConfig}; {@code num_virtual_tokens} is required. */
    public static final class Builder {

        private String taskType;
        private int numVirtualTokens;
        private Integer encoderHiddenSize;
        private boolean prefixProjection;
        private String initWeights;
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
         * @param projection {@code prefix_projection}: train through PEFT's MLP
         * @return this
         */
        public Builder optPrefixProjection(boolean projection) {
            this.prefixProjection = projection;
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
         * @param init {@code init_weights}: null or {@code "zero"}
         * @return this
         */
        public Builder optInitWeights(String init) {
            this.initWeights = init;
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
        public PrefixTuningConfig build() {
            return new PrefixTuningConfig(taskType, numVirtualTokens, null, null, null, null, encoderHiddenSize,
                    prefixProjection, initWeights, modulesToSave, false, baseModel, null);
        }
    }
}
