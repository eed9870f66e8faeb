package dev.peft4j.examples.cli;

import picocli.CommandLine.Option;

/** The optimization options of {@code train}. */
final class RunOptions {

    @Option(names = "--epochs", defaultValue = "3", paramLabel = "N", description = "Passes over the data (default 3).")
    int epochs;

    @Option(names = "--lr", defaultValue = "1e-3", paramLabel = "X",
            description = "Peak learning rate of AdamW, linear warmup over 6% of the steps then linear decay"
                    + " (default 1e-3).")
    double lr;

    @Option(names = "--batch-size", defaultValue = "16", paramLabel = "B", description = "Examples per batch (default 16).")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "128", paramLabel = "L",
            description = "Tokens per example; longer ones are truncated (default 128).")
    int maxLength;

    @Option(names = "--grad-accum", defaultValue = "1", paramLabel = "K",
            description = "Batches per optimizer step (default 1).")
    int gradAccum;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S",
            description = "Seed of data order, dropout and adapter initialization (default 42).")
    long seed;

    /** The warmup fraction of the linear schedule. */
    static final double WARMUP_RATIO = 0.06;

    /** Batches per length-sorting chunk of the bucketed sampler. */
    static final int BUCKET_CHUNK = 16;

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
