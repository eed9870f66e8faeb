package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;

/** How a sequence becomes one vector for a classifier or an embedding. */
public enum Pooling {
    /** BERT's pooler: {@code tanh(dense(hidden[:, 0]))}; Hugging Face's classifier default. */
    POOLER,
    /** The raw last hidden state of the first ({@code [CLS]}) token. */
    CLS,
    /** The mean of the last hidden states of non-padding tokens ({@link MeanPooling}). */
    MEAN;

    /**
     * Pools a model output.
     *
     * @param output the encoder's output
     * @param attentionMask {@code [B, T]}, 1 for real tokens; used by {@link #MEAN} ({@code null}
     *     means no padding)
     * @return {@code [B, H]}
     * @throws IllegalStateException for {@link #POOLER} when the model has no pooler
     */
    public NDArray pool(BertModelOutput output, NDArray attentionMask) {
        NDArray hidden = output.lastHiddenState();
        switch (this) {
            case POOLER:
                if (output.pooledOutput() == null) {
                    throw new IllegalStateException("pooling POOLER needs a model with a pooler; this one has none"
                            + " (use CLS or MEAN)");
                }
                return output.pooledOutput();
            case CLS:
                return hidden.get(":, 0");
            case MEAN:
                if (attentionMask == null) {
                    return hidden.mean(new int[] {1});
                }
                return MeanPooling.apply(hidden, attentionMask);
            default:
                throw new AssertionError(this);
        }
    }

    /**
     * @param name {@code pooler}, {@code cls} or {@code mean}, any case
     * @return the pooling
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Pooling parse(String name) {
        if (name == null) {
            throw new IllegalArgumentException("pooling is null (use pooler, cls or mean)");
        }
        for (Pooling p : values()) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown pooling '" + name + "' (use pooler, cls or mean)");
    }

    /**
     * The {@code config.json} field in which peft4j records a classifier's pooling when it is not
     * Hugging Face's pooler (transformers ignores it and always classifies the pooler output).
     */
    public static final String CONFIG_KEY = "peft4j_pooling";

    /**
     * @param config a model's {@code config.json}
     * @return the pooling recorded under {@link #CONFIG_KEY}, else {@link #POOLER}
     * @throws dev.peft4j.core.model.ConfigException naming the file when the value is unknown
     */
    public static Pooling fromConfig(dev.peft4j.core.model.HfConfig config) {
        if (!config.has(CONFIG_KEY)) {
            return POOLER;
        }
        try {
            return parse(config.getString(CONFIG_KEY));
        } catch (IllegalArgumentException e) {
            throw new dev.peft4j.core.model.ConfigException(
                    config.source() + ": field '" + CONFIG_KEY + "': " + e.getMessage(), e);
        }
    }
}
