package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;

import java.util.Objects;

/**
 * What a {@link TrainStep} returns.
 *
 * @param loss the scalar loss, mean over the batch
 * @param tokens the number of tokens in the batch, for throughput; 0 when not meaningful
 */
public record StepOutput(NDArray loss, long tokens) {

    /** Checks the fields. */
    public StepOutput {
        Objects.requireNonNull(loss, "loss");
        if (tokens < 0) {
            throw new IllegalArgumentException("tokens must not be negative, got " + tokens);
        }
    }

    /**
     * @param loss the scalar loss
     * @return an output without a token count
     */
    public static StepOutput of(NDArray loss) {
        return new StepOutput(loss, 0);
    }
}
