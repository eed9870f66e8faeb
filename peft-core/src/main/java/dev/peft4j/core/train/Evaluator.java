package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Computes evaluation metrics (e.g. {@code eval_loss}, {@code accuracy}) with the current
 * parameters. Every array created during the call is closed when it returns.
 */
@FunctionalInterface
public interface Evaluator {

    /**
     * @param ps the parameter store to run the model with
     * @param manager an evaluation-scoped manager
     * @return metric name → value; names without an {@code eval_} prefix get one in logs
     */
    Map<String, Double> evaluate(ParameterStore ps, NDManager manager);

    /**
     * The mean loss of {@code step} over the batches of a sampler, reported as {@code eval_loss}
     * (batches weighted by size, epoch 0 with seed 0).
     *
     * @param step computes a batch's loss; called with {@code training=false}
     * @param batches the evaluation batches
     * @return the evaluator
     */
    static Evaluator meanLoss(TrainStep step, BatchSampler batches) {
        return (ps, manager) -> {
            double sum = 0;
            long n = 0;
            for (List<Integer> batch : batches.batches(0, 0)) {
                try (NDManager sub = manager.newSubManager()) {
                    double loss = step.compute(ps, sub, batch, false).lossValue();
                    sum += loss * batch.size();
                    n += batch.size();
                }
            }
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("eval_loss", sum / n);
            return out;
        };
    }
}
