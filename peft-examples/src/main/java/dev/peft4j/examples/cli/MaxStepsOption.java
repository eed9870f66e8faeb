package dev.peft4j.examples.cli;

import dev.peft4j.core.train.TrainingArguments;
import picocli.CommandLine.Option;

/** {@code --max-steps N} of {@code train} and {@code demo}: a fixed number of optimizer steps instead of epochs. */
final class MaxStepsOption {

    @Option(names = "--max-steps", defaultValue = "0", paramLabel = "N",
            description = "Stop after N optimizer steps, overriding --epochs (data repeats as needed; default: the"
                    + " epochs decide).")
    long maxSteps;

    /** @throws IllegalArgumentException for a negative count */
    void check() {
        if (maxSteps < 0) {
            throw new IllegalArgumentException("--max-steps must be positive, got " + maxSteps);
        }
    }

    /**
     * @param arguments the builder to set
     * @return it, with the step limit when one was given
     * @throws IllegalArgumentException for a negative count
     */
    TrainingArguments.Builder apply(TrainingArguments.Builder arguments) {
        check();
        return maxSteps > 0 ? arguments.optMaxSteps(maxSteps) : arguments;
    }
}
