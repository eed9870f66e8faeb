package dev.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.CausalLmBatch;
import dev.peft4j.core.data.CausalLmDataset;
import dev.peft4j.core.model.hooks.VirtualTokens;
import dev.peft4j.core.train.Evaluator;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.TrainStep;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Causal language modelling for {@link dev.peft4j.core.train.AdapterTrainer}: shifted next-token
 * cross-entropy over the trained positions ({@link Losses#causalLm}), and evaluation by the mean
 * loss per trained token and its perplexity.
 */
public final class CausalLmTask {

    private CausalLmTask() {}

    /**
     * @param data the training sequences
     * @param model the language model
     * @return a step computing the batch's mean token loss (token count reported)
     */
    public static TrainStep trainStep(CausalLmDataset data, CausalLanguageModel model) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(model, "model");
        return (ps, manager, ids, training) -> {
            CausalLmBatch b = data.batch(ids, manager);
            NDArray logits = model.logits(ps, b, training);
            return new StepOutput(Losses.causalLm(logits, labelsFor(logits, b.labels())), b.tokens());
        };
    }

    /**
     * The labels for logits that cover {@code n} virtual tokens in front of the real ones (prompt
     * tuning, P-tuning): PEFT's {@code cat([full((B, n), -100), labels], dim=1)}; otherwise the
     * labels as they are.
     *
     * @param logits {@code [B, n + T, V]}
     * @param labels {@code [B, T]}
     * @return {@code [B, n + T]}
     */
    static NDArray labelsFor(NDArray logits, NDArray labels) {
        long extra = logits.getShape().get(1) - labels.getShape().get(1);
        return extra > 0 && logits.getShape().dimension() == 3 ? VirtualTokens.padLabels(labels, extra) : labels;
    }

    /**
     * @param data the evaluation sequences
     * @param model the language model
     * @param batchSize sequences per forward pass
     * @return an evaluator reporting {@code eval_loss} and {@code perplexity}
     */
    public static Evaluator evaluator(CausalLmDataset data, CausalLanguageModel model, int batchSize) {
        return (ps, manager) -> evaluate(ps, manager, data, model, batchSize).toMap();
    }

    /**
     * The mean loss per trained token over every sequence (batch means weighted by their token
     * counts) and {@code exp} of it.
     *
     * @param ps the parameter store
     * @param manager a manager for the scratch arrays (closed per batch)
     * @param data the sequences
     * @param model the language model
     * @param batchSize sequences per forward pass
     * @return the evaluation
     */
    public static CausalLmEvaluation evaluate(ParameterStore ps, NDManager manager, CausalLmDataset data,
            CausalLanguageModel model, int batchSize) {
        double sum = 0;
        long targets = 0;
        for (List<Integer> batch : EvalBatches.byLength(data.lengths(), batchSize)) {
            try (NDManager sub = manager.newSubManager()) {
                CausalLmBatch b = data.batch(batch, sub);
                NDArray logits = model.logits(ps, b, false);
                NDArray loss = Losses.causalLm(logits, labelsFor(logits, b.labels()));
                sum += loss.getFloat() * (double) b.targets();
                targets += b.targets();
            }
        }
        double mean = sum / targets;
        return new CausalLmEvaluation(mean, Math.exp(mean), targets);
    }

    /**
     * What {@link #evaluate} found.
     *
     * @param loss the mean cross-entropy per trained token
     * @param perplexity {@code exp(loss)}
     * @param tokens the number of trained tokens
     */
    public record CausalLmEvaluation(double loss, double perplexity, long tokens) {

        /** @return {@code eval_loss} and {@code perplexity} */
        public Map<String, Double> toMap() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("eval_loss", loss);
            m.put("perplexity", perplexity);
            return m;
        }
    }
}
