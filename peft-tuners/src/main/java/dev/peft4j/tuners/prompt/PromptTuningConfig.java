package dev.peft4j.tuners.prompt;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.peft.PeftConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code PromptTuningConfig} ({@code peft_type} {@code PROMPT_TUNING}): {@code n} trained
 * virtual-token embeddings {@code [n, token_dim]} prepended to the input embeddings. The sizes left
 * null ({@code token_dim}, {@code num_layers}, {@code num_attention_heads}, {@code
 * num_transformer_submodules}) are filled from the base model when the adapter is added, as PEFT
 * fills them.
 *
 * <pre>{@code
 * PromptTuningConfig c = PromptTuningConfig.builder().setNumVirtualTokens(8)
 *         .optTaskType("CAUSAL_LM").build();
 * }</pre>
 *
 * @param taskType PEFT's {@code task_type}, or null
 * @param numVirtualTokens {@code num_virtual_tokens}, positive
 * @param tokenDim {@code token_dim} (the hidden size), or null
 * @param numTransformerSubmodules {@code num_transformer_submodules} (1), or null
 * @param numAttentionHeads {@code num_attention_heads}, or null
 * @param numLayers {@code num_layers}, or null
 * @param promptTuningInit {@code prompt_tuning_init}
 * @param promptTuningInitText {@code prompt_tuning_init_text}, required for TEXT
 * @param tokenizerNameOrPath {@code tokenizer_name_or_path}: a local {@code tokenizer.json} or a
 *     directory holding one; null for TEXT means the base model's own tokenizer
 * @param tokenizerKwargs {@code tokenizer_kwargs} (kept in the file; only allowed with TEXT)
 * @param modulesToSave {@code modules_to_save}, or null
 * @param inferenceMode {@code inference_mode}
 * @param baseModelNameOrPath {@code base_model_name_or_path}, or null
 * @param revision {@code revision}, or null
 */
public record PromptTuningConfig(String taskType, int numVirtualTokens, Integer tokenDim,
                                 Integer numTransformerSubmodules, Integer numAttentionHeads, Integer numLayers,
                                 PromptTuningInit promptTuningInit, String promptTuningInitText,
                                 String tokenizerNameOrPath, Map<String, Object> tokenizerKwargs,
                                 List<String> modulesToSave, boolean inferenceMode, String baseModelNameOrPath,
                                 String revision) implements PeftConfig {

    /** PEFT's name of the method. */
    public static final String PEFT_TYPE = "PROMPT_TUNING";

    private static final Set<String> OWN = Set.of("prompt_tuning_init", "prompt_tuning_init_text",
            "tokenizer_name_or_path", "tokenizer_kwargs");

    /**
     * Validates the fields.
     *
     * @throws IllegalArgumentException naming the first invalid field
     */
    public PromptTuningConfig {
        ConfigChecks.common(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules, numAttentionHeads,
                numLayers);
        if (promptTuningInit == null) {
            promptTuningInit = PromptTuningInit.RANDOM;
        }
        if (promptTuningInit == PromptTuningInit.TEXT
                && (promptTuningInitText == null || promptTuningInitText.isEmpty())) {
            throw new IllegalArgumentException("prompt_tuning_init_text is required when prompt_tuning_init is TEXT");
        }
        if (tokenizerKwargs != null && promptTuningInit != PromptTuningInit.TEXT) {
            throw new IllegalArgumentException("tokenizer_kwargs only applies when prompt_tuning_init is TEXT, got "
                    + promptTuningInit);
        }
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
        tokenizerKwargs = tokenizerKwargs == null ? null : Map.copyOf(tokenizerKwargs);
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
    public PromptTuningConfig withInferenceMode(boolean mode) {
        return new PromptTuningConfig(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules,
                numAttentionHeads, numLayers, promptTuningInit, promptTuningInitText, tokenizerNameOrPath,
                tokenizerKwargs, modulesToSave, mode, baseModelNameOrPath, revision);
    }

    @Override
    public PromptTuningConfig withModulesToSave(List<String> modules) {
        return new PromptTuningConfig(taskType, numVirtualTokens, tokenDim, numTransformerSubmodules,
                numAttentionHeads, numLayers, promptTuningInit, promptTuningInitText, tokenizerNameOrPath,
                tokenizerKwargs, modules, inferenceMode, baseModelNameOrPath, revision);
    }

    /** @return a copy with the sizes PEFT fills from the base model */
    PromptTuningConfig withSizes(int dim, int submodules, int heads, int layers) {
        return new PromptTuningConfig(taskType, numVirtualTokens, dim, submodules, heads, layers, promptTuningInit,
                promptTuningInitText, tokenizerNameOrPath, tokenizerKwargs, modulesToSave, inferenceMode,
                baseModelNameOrPath, revision);
    }

    /** @return PEFT's key → value map */
    public Map<String, Object> toMap() {
        Map<String, Object> m = PromptJson.common(PEFT_TYPE, taskType, numVirtualTokens, tokenDim,
                numTransformerSubmodules, numAttentionHeads, numLayers, modulesToSave, inferenceMode,
                baseModelNameOrPath, revision);
        m.put("prompt_tuning_init", promptTuningInit.name());
        m.put("prompt_tuning_init_text", promptTuningInitText);
        m.put("tokenizer_name_or_path", tokenizerNameOrPath);
        m.put("tokenizer_kwargs", tokenizerKwargs);
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
    public static PromptTuningConfig read(Path file) throws IOException {
        return PromptJson.read(file, PEFT_TYPE, OWN, PromptTuningConfig::fromJson);
    }

    /**
     * @param json the configuration as JSON text
     * @return the configuration
     * @throws IllegalArgumentException naming the field
     */
    public static PromptTuningConfig parse(String json) {
        return PromptJson.parse(json, PEFT_TYPE, OWN, PromptTuningConfig::fromJson);
    }

    private static PromptTuningConfig fromJson(ObjectNode o) {
        String init = PromptJson.optString(o, "prompt_tuning_init");
        return new PromptTuningConfig(PromptJson.optString(o, "task_type"),
                PromptJson.requiredInt(o, "num_virtual_tokens"), PromptJson.optInt(o, "token_dim"),
                PromptJson.optInt(o, "num_transformer_submodules"), PromptJson.optInt(o, "num_attention_heads"),
                PromptJson.optInt(o, "num_layers"), init == null ? null : PromptTuningInit.parse(init),
                PromptJson.optString(o, "prompt_tuning_init_text"), PromptJson.optString(o, "tokenizer_name_or_path"),
                PromptJson.optObject(o, "tokenizer_kwargs"), PromptJson.optStrings(o, "modules_to_save"),
                PromptJson.optBoolean(o, "inference_mode", false), PromptJson.optString(o, "base_model_name_or_path"),
                PromptJson.optString(o, "revision"));
    }

    /** Builds a {@link PromptTuningConfig}; {@code num_virtual_tokens} is required. */
    public static final class Builder {

        private String taskType;
        private int numVirtualTokens;
        private Integer tokenDim;
        private Integer numAttentionHeads;
        private Integer numLayers;
        private PromptTuningInit init = PromptTuningInit.RANDOM;
        private String initText;
        private String tokenizer;
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
         * @param taskType {@code task_type} ({@code CAUSAL_LM}, {@code SEQ_CLS}, …)
         * @return this
         */
        public Builder optTaskType(String taskType) {
            this.taskType = taskType;
            return this;
        }

        /**
         * @param dim {@code token_dim}; by default the base's hidden size
         * @return this
         */
        public Builder optTokenDim(int dim) {
            this.tokenDim = dim;
            return this;
        }

        /**
         * @param heads {@code num_attention_heads}; by default the base's
         * @return this
         */
        public Builder optNumAttentionHeads(int heads) {
            this.numAttentionHeads = heads;
            return this;
        }

        /**
         * @param layers {@code num_layers}; by default the base's
         * @return this
         */
        public Builder optNumLayers(int layers) {
            this.numLayers = layers;
            return this;
        }

        /**
         * @param init {@code prompt_tuning_init}; RANDOM by default
         * @return this
         */
        public Builder optPromptTuningInit(PromptTuningInit init) {
            this.init = init;
            return this;
        }

        /**
         * @param text {@code prompt_tuning_init_text} (with {@link PromptTuningInit#TEXT})
         * @return this
         */
        public Builder optPromptTuningInitText(String text) {
            this.initText = text;
            return this;
        }

        /**
         * @param path {@code tokenizer_name_or_path}: a local {@code tokenizer.json} or its directory
         * @return this
         */
        public Builder optTokenizerNameOrPath(String path) {
            this.tokenizer = path;
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
        public PromptTuningConfig build() {
            return new PromptTuningConfig(taskType, numVirtualTokens, tokenDim, null, numAttentionHeads, numLayers,
                    init, initText, tokenizer, null, modulesToSave, false, baseModel, null);
        }
    }
}
