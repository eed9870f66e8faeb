package dev.peft4j.tuners.prompt;

import java.util.Set;

/** Validation of the fields the prompt-learning configs share, each error naming its field. */
final class ConfigChecks {

    /** The task types peft4j's models serve. */
    static final Set<String> TASK_TYPES = Set.of("CAUSAL_LM", "SEQ_CLS", "FEATURE_EXTRACTION", "TOKEN_CLS",
            "QUESTION_ANS");

    private ConfigChecks() {}

    /**
     * @throws IllegalArgumentException naming the first invalid field
     */
    static void common(String taskType, int numVirtualTokens, Integer tokenDim, Integer numTransformerSubmodules,
                       Integer numAttentionHeads, Integer numLayers) {
        if (taskType != null && !TASK_TYPES.contains(taskType)) {
            throw new IllegalArgumentException("task_type \"" + taskType + "\" is not supported for prompt learning"
                    + " (peft4j has no encoder-decoder models; use one of " + new java.util.TreeSet<>(TASK_TYPES)
                    + " or null)");
        }
        positive("num_virtual_tokens", numVirtualTokens);
        positiveOrNull("token_dim", tokenDim);
        positiveOrNull("num_attention_heads", numAttentionHeads);
        positiveOrNull("num_layers", numLayers);
        if (numTransformerSubmodules != null && numTransformerSubmodules != 1) {
            throw new IllegalArgumentException("num_transformer_submodules must be 1 (2 is for encoder-decoder"
                    + " models, which peft4j does not have), got " + numTransformerSubmodules);
        }
    }

    static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, got " + value);
        }
    }

    static void positiveOrNull(String field, Integer value) {
        if (value != null && value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, got " + value);
        }
    }
}
