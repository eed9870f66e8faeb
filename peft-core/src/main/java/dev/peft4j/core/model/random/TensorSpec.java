package dev.peft4j.core.model.random;

import java.util.Arrays;

/**
 * One tensor of a random checkpoint: its Hugging Face name, its shape and how Hugging Face's
 * {@code _init_weights} initializes it.
 *
 * @param name the tensor name
 * @param shape the dimensions
 * @param init the initialization
 */
public record TensorSpec(String name, long[] shape, Init init) {

    /** Hugging Face's initializations of Llama-family parameters. */
    public enum Init {
        /** Linear and embedding weights: normal(0, {@code initializer_range}). */
        NORMAL,
        /** Linear biases. */
        ZEROS,
        /** RMSNorm weights. */
        ONES
    }

    /**
     * @param name the tensor name
     * @param shape the dimensions
     * @return a normally initialized tensor
     */
    public static TensorSpec normal(String name, long... shape) {
        return new TensorSpec(name, shape, Init.NORMAL);
    }

    /**
     * @param name the tensor name
     * @param shape the dimensions
     * @return a zero tensor
     */
    public static TensorSpec zeros(String name, long... shape) {
        return new TensorSpec(name, shape, Init.ZEROS);
    }

    /**
     * @param name the tensor name
     * @param shape the dimensions
     * @return a tensor of ones
     */
    public static TensorSpec ones(String name, long... shape) {
        return new TensorSpec(name, shape, Init.ONES);
    }

    /** @return the number of elements */
    public long elements() {
        return Arrays.stream(shape).reduce(1, Math::multiplyExact);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + " " + init;
    }
}
