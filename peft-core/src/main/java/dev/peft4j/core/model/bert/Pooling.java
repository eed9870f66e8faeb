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
        for (Pooling p : values()) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown pooling '" + name + "' (use pooler, cls or mean)");
    }
}
