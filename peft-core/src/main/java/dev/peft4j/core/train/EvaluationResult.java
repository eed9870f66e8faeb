package dev.peft4j.core.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link FineTuner#evaluate} measured. Classification: mean cross-entropy, accuracy and
 * macro-F1 over {@code count} examples; causal LM: mean cross-entropy per trained token and
 * perplexity ({@code exp(loss)}) over {@code count} trained tokens.
 *
 * @param task the task evaluated
 * @param loss the mean cross-entropy
 * @param accuracy the fraction of correct predictions (classification; NaN otherwise)
 * @param macroF1 the unweighted mean of the per-class F1 (classification; NaN otherwise)
 * @param perplexity {@code exp(loss)} (causal LM; NaN otherwise)
 * @param count examples (classification) or trained tokens (causal LM)
 */
public record EvaluationResult(TrainingTask task, double loss, double accuracy, double macroF1, double perplexity,
        long count) {

    /**
     * @param loss the mean cross-entropy
     * @param accuracy the accuracy
     * @param macroF1 the macro-F1
     * @param examples the examples evaluated
     * @return a classification result
     */
    public static EvaluationResult classification(double loss, double accuracy, double macroF1, long examples) {
        return new EvaluationResult(TrainingTask.SEQUENCE_CLASSIFICATION, loss, accuracy, macroF1, Double.NaN,
                examples);
    }

    /**
     * @param loss the mean cross-entropy per trained token
     * @param tokens the trained tokens evaluated
     * @return a causal-LM result, perplexity {@code exp(loss)}
     */
    public static EvaluationResult causalLm(double loss, long tokens) {
        return new EvaluationResult(TrainingTask.CAUSAL_LM, loss, Double.NaN, Double.NaN, Math.exp(loss), tokens);
    }

    /**
     * @return the metrics as the trainer logs them: {@code eval_loss}, then {@code accuracy} and
     *     {@code macro_f1}, or {@code perplexity}
     */
    public Map<String, Double> toMap() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("eval_loss", loss);
        if (task == TrainingTask.SEQUENCE_CLASSIFICATION) {
            m.put("accuracy", accuracy);
            m.put("macro_f1", macroF1);
        } else {
            m.put("perplexity", perplexity);
        }
        return Collections.unmodifiableMap(m);
    }
}
