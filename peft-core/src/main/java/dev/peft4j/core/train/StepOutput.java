package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

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
     * The loss as a Java number.
     *
     * @return the loss value
     * @throws IllegalArgumentException when the loss has more than one element
     */
    public double lossValue() {
        if (loss.size() != 1) {
            throw new IllegalArgumentException(
                    "the train step must return a scalar loss, got shape " + loss.getShape());
        }
        if (loss.getDataType() == DataType.FLOAT32) {
            return loss.toFloatArray()[0];
        }
        try (NDArray f = loss.toType(DataType.FLOAT32, true)) {
            return f.toFloatArray()[0];
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
