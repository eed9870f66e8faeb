package dev.peft4j.examples.cli;

import dev.peft4j.core.train.TrainingDefaults;
import picocli.CommandLine.Option;

/** The optimization options of {@code train} and {@code demo}; defaults from {@link TrainingDefaults}. */
final class RunOptions {

    @Option(names = "--epochs", defaultValue = "" + TrainingDefaults.EPOCHS, paramLabel = "N",
            description = "Passes over the data (default ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--lr", defaultValue = "" + TrainingDefaults.LEARNING_RATE, paramLabel = "X",
            description = "Peak learning rate of AdamW, linear warmup over " + (int) (100 * TrainingDefaults.WARMUP_RATIO)
                    + "%% of the steps then linear decay (default ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--batch-size", defaultValue = "" + TrainingDefaults.BATCH_SIZE, paramLabel = "B",
            description = "Examples per batch (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "" + TrainingDefaults.MAX_LENGTH, paramLabel = "L",
            description = "Tokens per example; longer ones are truncated (default ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--grad-accum", defaultValue = "" + TrainingDefaults.GRADIENT_ACCUMULATION, paramLabel = "K",
            description = "Batches per optimizer step (default ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(names = "--seed", defaultValue = "" + TrainingDefaults.SEED, paramLabel = "S",
            description = "Seed of data order, dropout and adapter initialization (default ${DEFAULT-VALUE}).")
    long seed;

    /** @throws IllegalArgumentException naming the first invalid option */
    void check() {
        if (epochs <= 0) {
            throw new IllegalArgumentException("--epochs must be positive, got " + epochs);
        }
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("--lr must be positive, got " + lr);
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("--batch-size must be positive, got " + batchSize);
        }
        if (maxLength <= 1) {
            throw new IllegalArgumentException("--max-length must be at least 2, got " + maxLength);
        }
        if (gradAccum <= 0) {
            throw new IllegalArgumentException("--grad-accum must be positive, got " + gradAccum);
        }
    }
}
