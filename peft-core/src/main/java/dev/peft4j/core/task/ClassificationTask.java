package dev.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.ClassificationBatch;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.train.Evaluator;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.TrainStep;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Sequence classification for {@link dev.peft4j.core.train.AdapterTrainer}: cross-entropy
 * training steps over a {@link ClassificationDataset}, and evaluation by loss, accuracy and
 * macro-F1.
 *
 * <pre>{@code
 * SequenceClassifier model = (ps, b, training) ->
 *         bert.forward(ps, b.inputIds(), b.attentionMask(), b.tokenTypeIds(), training);
 * AdapterTrainer.builder()
 *         .setTrainStep(ClassificationTask.trainStep(train, model))
 *         .optEvaluator(ClassificationTask.evaluator(test, model, 64))
 *         ...
 * }</pre>
 */
public final class ClassificationTask {

    private ClassificationTask() {}

    /**
     * @param data the training examples
     * @param model the classifier
     * @return a step computing the batch's mean cross-entropy (token count reported)
     */
    public static TrainStep trainStep(ClassificationDataset data, SequenceClassifier model) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(model, "model");
        return (ps, manager, ids, training) -> {
            ClassificationBatch b = data.batch(ids, manager);
            NDArray logits = model.logits(ps, b, training);
            return new StepOutput(Losses.crossEntropy(logits, b.labels()), b.tokens());
        };
    }

    /**
     * @param data the evaluation examples (with the training's label set)
     * @param model the classifier
     * @param batchSize examples per forward pass
     * @return an evaluator reporting {@code eval_loss}, {@code accuracy} and {@code macro_f1}
     */
    public static Evaluator evaluator(ClassificationDataset data, SequenceClassifier model, int batchSize) {
        return (ps, manager) -> evaluate(ps, manager, data, model, batchSize).toMap();
    }

    /**
     * Runs the classifier over every example (inference mode, length-sorted batches).
     *
     * @param ps the parameter store
     * @param manager a manager for the scratch arrays (closed per batch)
     * @param data the examples
     * @param model the classifier
     * @param batchSize examples per forward pass
     * @return loss, predictions and metrics
     */
    public static ClassificationEvaluation evaluate(ParameterStore ps, NDManager manager, ClassificationDataset data,
            SequenceClassifier model, int batchSize) {
        int[] predicted = new int[data.size()];
        double lossSum = 0;
        for (List<Integer> batch : EvalBatches.byLength(data.lengths(), batchSize)) {
            try (NDManager sub = manager.newSubManager()) {
                ClassificationBatch b = data.batch(batch, sub);
                NDArray logits = model.logits(ps, b, false);
                lossSum += Losses.crossEntropy(logits, b.labels()).getFloat() * batch.size();
                long[] argmax = logits.argMax(1).toLongArray();
                for (int i = 0; i < argmax.length; i++) {
                    predicted[batch.get(i)] = (int) argmax[i];
                }
            }
        }
        ClassificationMetrics metrics = ClassificationMetrics.of(predicted, data.classes(), data.labels().size());
        return new ClassificationEvaluation(lossSum / data.size(), metrics, predicted);
    }

    /**
     * What {@link #evaluate} found.
     *
     * @param loss the mean cross-entropy
     * @param metrics accuracy and macro-F1
     * @param predicted the predicted class of every example
     */
    public record ClassificationEvaluation(double loss, ClassificationMetrics metrics, int[] predicted) {

        /** @return {@code eval_loss}, {@code accuracy}, {@code macro_f1} */
        public Map<String, Double> toMap() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("eval_loss", loss);
            m.putAll(metrics.toMap());
            return m;
        }
    }
}
