package dev.peft4j.core.train;

import java.util.Map;

/**
 * Observes a run. Called on the training thread after the step's metrics are logged; an exception
 * thrown here ends the run (checkpoints already written stay resumable).
 */
public interface StepListener {

    /**
     * After every optimizer step.
     *
     * @param metrics the step's metrics
     */
    void onStep(StepMetrics metrics);

    /**
     * After every evaluation.
     *
     * @param step the step evaluated after
     * @param metrics the evaluation metrics
     */
    default void onEvaluation(long step, Map<String, Double> metrics) {}
}
