package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * An update rule for trainable parameters. Implementations hold hyperparameters only and are
 * immutable; per-parameter state (moments, momentum buffers) lives in an {@link OptimizerState}
 * owned by the run, so one optimizer can be shared by several trainers.
 *
 * <p>Updates are in place, in float32, outside any gradient recording.
 */
public interface ParameterOptimizer {

    /** @return a short name stored in checkpoints, e.g. {@code adamw} */
    String name();

    /** @return the state slots kept per parameter, e.g. {@code exp_avg, exp_avg_sq} */
    List<String> stateSlots();

    /**
     * Updates one parameter in place. {@link OptimizerState#step()} is the 1-based number of the
     * update being made (already incremented for this step).
     *
     * @param path the parameter's dotted path (state key)
     * @param param the parameter's array, updated in place
     * @param grad its gradient (not modified)
     * @param lr the learning rate of this step
     * @param state the run's optimizer state
     */
    void update(String path, NDArray param, NDArray grad, double lr, OptimizerState state);

    /**
     * @return where the run's {@link OptimizerState} keeps host buffers ({@link
     *     OptimizerState#hostSlot}); the Java heap unless the optimizer is paged
     */
    default StateStorage stateStorage() {
        return StateStorage.heap();
    }
}
