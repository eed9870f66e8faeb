package dev.peft4j.tuners.prompt;

/** PEFT's {@code prompt_tuning_init}: how the virtual-token embeddings start. */
public enum PromptTuningInit {
    /** Every element from N(0, 1), PyTorch's {@code nn.Embedding} default. */
    RANDOM,
    /** The word embeddings of {@code prompt_tuning_init_text}'s tokens, repeated or truncated to {@code n}. */
    TEXT,
    /** The word embeddings of {@code n} token ids drawn uniformly from the vocabulary. */
    SAMPLE_VOCAB;

    /**
     * @param value a JSON value such as {@code "TEXT"}
     * @return the constant
     * @throws IllegalArgumentException naming the field and the allowed values
     */
    static PromptTuningInit parse(String value) {
        for (PromptTuningInit i : values()) {
            if (i.name().equals(value)) {
                return i;
            }
        }
        throw new IllegalArgumentException("prompt_tuning_init must be one of RANDOM, TEXT, SAMPLE_VOCAB, got \""
                + value + "\"");
    }
}
