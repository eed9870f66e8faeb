package dev.peft4j.core.train;

/** What a {@link FineTuner} trains, following from the model it is given. */
public enum TrainingTask {
    /**
     * Sequence classification ({@code BertForSequenceClassification}); PEFT's {@code SEQ_CLS}.
     * Cross-entropy; evaluated by loss, accuracy and macro-F1; the best weights by accuracy.
     */
    SEQUENCE_CLASSIFICATION("accuracy", true),
    /**
     * Causal language modelling ({@code LlamaForCausalLM} and its Qwen2/Mistral variants); PEFT's
     * {@code CAUSAL_LM}. Next-token cross-entropy on the trained tokens; evaluated by loss and
     * perplexity; the best weights by loss.
     */
    CAUSAL_LM("eval_loss", false);

    private final String bestMetric;
    private final boolean higherIsBetter;

    TrainingTask(String bestMetric, boolean higherIsBetter) {
        this.bestMetric = bestMetric;
        this.higherIsBetter = higherIsBetter;
    }

    /** @return the evaluation metric selecting the best weights */
    public String bestMetric() {
        return bestMetric;
    }

    /** @return whether a higher {@link #bestMetric()} is better */
    public boolean higherIsBetter() {
        return higherIsBetter;
    }
}
