package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

import java.util.List;

/**
 * Computes the loss of one (micro-)batch: the caller turns example ids into arrays in {@code
 * manager}, runs the model and returns a scalar loss (mean over the batch).
 *
 * <p>Every array created during the call, in any manager, is closed when the step ends; nothing
 * created here may be kept.
 */
@FunctionalInterface
public interface TrainStep {

    /**
     * @param ps the parameter store to run the model with
     * @param manager a step-scoped manager for inputs and intermediates
     * @param exampleIds the ids of the batch's examples
     * @param training true for a training pass (dropout on), false for evaluation
     * @return the scalar loss and, optionally, the number of tokens in the batch
     */
    StepOutput compute(ParameterStore ps, NDManager manager, List<Integer> exampleIds, boolean training);
}
