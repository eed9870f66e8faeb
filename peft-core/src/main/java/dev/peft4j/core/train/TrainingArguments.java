package dev.peft4j.core.train;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The settings of a {@link FineTuner} run, named after Hugging Face's {@code TrainingArguments};
 * immutable. Every default comes from {@link TrainingDefaults} (the values the CLI uses too), and
 * none needs a directory: without {@link Builder#optOutputDir} a run writes nothing to disk.
 *
 * <pre>{@code
 * TrainingArguments args = TrainingArguments.builder()
 *         .optMaxSteps(100)                     // instead of epochs
 *         .optLearningRate(5e-4)
 *         .build();
 * TrainingArguments saved = TrainingArguments.builder()
 *         .optOutputDir(Path.of("runs/reviews")) // checkpoints, best/ adapter, metrics.jsonl
 *         .optTrainingCurve(true)
 *         .build();
 * }</pre>
 *
 * <p>With an output directory, a run writes {@code checkpoints/checkpoint-<step>} (resumable),
 * {@code best/} (the best adapter by the evaluation metric, as a PEFT adapter directory when the
 * tuner has an {@link AdapterSaver}) and {@code metrics.jsonl}; {@code training-curve.png} and
 * the console progress bar are opt-in. A second run into the same directory replaces those files
 * of the previous run (and only those; other files are left alone), unless {@link
 * Builder#optResumeFromCheckpoint} asks to continue it, or {@link Builder#optOverwriteOutputDir}
 * is false, which refuses a directory holding a run.
 */
public final class TrainingArguments {

    private final Path outputDir;
    private final int epochs;
    private final long maxSteps;
    private final double learningRate;
    private final ScheduleType schedule;
    private final double warmupRatio;
    private final int batchSize;
    private final int evalBatchSize;
    private final int maxLength;
    private final int gradientAccumulation;
    private final double maxGradNorm;
    private final long seed;
    private final long evalEvery;
    private final long checkpointEvery;
    private final int keepCheckpoints;
    private final boolean progressBar;
    private final boolean trainingCurve;
    private final boolean resumeFromCheckpoint;
    private final boolean overwriteOutputDir;
    private final ParameterOptimizer optimizer;
    private final boolean gradientCheckpointing;

    private TrainingArguments(Builder b) {
        this.outputDir = b.outputDir;
        this.epochs = b.epochs;
        this.maxSteps = b.maxSteps;
        this.learningRate = b.learningRate;
        this.schedule = b.schedule;
        this.warmupRatio = b.warmupRatio;
        this.batchSize = b.batchSize;
        this.evalBatchSize = b.evalBatchSize > 0 ? b.evalBatchSize : 2 * b.batchSize;
        this.maxLength = b.maxLength;
        this.gradientAccumulation = b.gradientAccumulation;
        this.maxGradNorm = b.maxGradNorm;
        this.seed = b.seed;
        this.evalEvery = b.evalEvery;
        this.checkpointEvery = b.checkpointEvery;
        this.keepCheckpoints = b.keepCheckpoints;
        this.progressBar = b.progressBar;
        this.trainingCurve = b.trainingCurve;
        this.resumeFromCheckpoint = b.resumeFromCheckpoint;
        this.overwriteOutputDir = b.overwriteOutputDir;
        this.optimizer = b.optimizer;
        this.gradientCheckpointing = b.gradientCheckpointing;
    }

    /** @return a new builder holding the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the arguments with every default */
    public static TrainingArguments defaults() {
        return builder().build();
    }

    /** @return the output directory, or null when the run writes nothing to disk */
    public Path outputDir() {
        return outputDir;
    }

    /** @return passes over the data (ignored when {@link #maxSteps()} is positive) */
    public int epochs() {
        return epochs;
    }

    /** @return total optimizer steps when positive, overriding the epochs; 0 otherwise */
    public long maxSteps() {
        return maxSteps;
    }

    /** @return the peak learning rate */
    public double learningRate() {
        return learningRate;
    }

    /** @return the learning-rate schedule */
    public ScheduleType schedule() {
        return schedule;
    }

    /** @return warmup as a fraction of the total steps */
    public double warmupRatio() {
        return warmupRatio;
    }

    /** @return examples per training batch */
    public int batchSize() {
        return batchSize;
    }

    /** @return examples per evaluation forward pass */
    public int evalBatchSize() {
        return evalBatchSize;
    }

    /**
     * @return tokens per causal-LM sequence (longer ones are cut); for classification the
     *     tokenizer's own maximum length applies, and {@code FineTuner} builds its default
     *     tokenizer with this value
     */
    public int maxLength() {
        return maxLength;
    }

    /** @return batches per optimizer step */
    public int gradientAccumulation() {
        return gradientAccumulation;
    }

    /** @return the gradient clipping norm, 0 when off */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** @return the run seed */
    public long seed() {
        return seed;
    }

    /** @return evaluate every this many steps (0: at epoch ends and the end) */
    public long evalEvery() {
        return evalEvery;
    }

    /** @return checkpoint every this many steps (0: at epoch ends and the end) */
    public long checkpointEvery() {
        return checkpointEvery;
    }

    /** @return checkpoints kept */
    public int keepCheckpoints() {
        return keepCheckpoints;
    }

    /** @return whether a console progress bar is drawn */
    public boolean progressBar() {
        return progressBar;
    }

    /** @return whether {@value TrainingConfig#CURVE_FILE} is drawn (needs an output directory) */
    public boolean trainingCurve() {
        return trainingCurve;
    }

    /** @return whether a run continues from the output directory's newest checkpoint */
    public boolean resumeFromCheckpoint() {
        return resumeFromCheckpoint;
    }

    /** @return whether a fresh run replaces the files of an earlier run in the output directory */
    public boolean overwriteOutputDir() {
        return overwriteOutputDir;
    }

    /** @return the update rule ({@link AdamW} with its defaults unless set) */
    public ParameterOptimizer optimizer() {
        return optimizer;
    }

    /**
     * @return whether the run checkpoints the model's layer stacks (Hugging Face's {@code
     *     gradient_checkpointing}; see {@link dev.peft4j.core.checkpoint.GradientCheckpointing})
     */
    public boolean gradientCheckpointing() {
        return gradientCheckpointing;
    }

    /**
     * @param bestMetric the metric selecting the best weights
     * @param higherIsBetter whether higher values are better
     * @return the engine's configuration
     */
    public TrainingConfig toTrainingConfig(String bestMetric, boolean higherIsBetter) {
        return TrainingConfig.builder()
                .optOutputDir(outputDir)
                .optEpochs(epochs)
                .optMaxSteps(maxSteps)
                .optLearningRate(learningRate)
                .optSchedule(schedule)
                .optWarmupRatio(warmupRatio)
                .optGradientAccumulation(gradientAccumulation)
                .optMaxGradNorm(maxGradNorm)
                .optSeed(seed)
                .optEvalEvery(evalEvery)
                .optCheckpointEvery(checkpointEvery)
                .optKeepCheckpoints(keepCheckpoints)
                .optBestMetric(bestMetric, higherIsBetter)
                .optProgressBar(progressBar)
                .optTrainingCurve(trainingCurve)
                .optOptimizer(optimizer)
                .build();
    }

    /** Builder of {@link TrainingArguments}; every setting is optional. */
    public static final class Builder {
        private Path outputDir;
        private int epochs = TrainingDefaults.EPOCHS;
        private long maxSteps;
        private double learningRate = TrainingDefaults.LEARNING_RATE;
        private ScheduleType schedule = TrainingDefaults.SCHEDULE;
        private double warmupRatio = TrainingDefaults.WARMUP_RATIO;
        private int batchSize = TrainingDefaults.BATCH_SIZE;
        private int evalBatchSize;
        private int maxLength = TrainingDefaults.MAX_LENGTH;
        private int gradientAccumulation = TrainingDefaults.GRADIENT_ACCUMULATION;
        private double maxGradNorm = TrainingDefaults.MAX_GRAD_NORM;
        private long seed = TrainingDefaults.SEED;
        private long evalEvery;
        private long checkpointEvery;
        private int keepCheckpoints = TrainingDefaults.KEEP_CHECKPOINTS;
        private boolean progressBar;
        private boolean trainingCurve;
        private boolean resumeFromCheckpoint;
        private boolean overwriteOutputDir = true;
        private ParameterOptimizer optimizer = AdamW.builder().build();
        private boolean gradientCheckpointing;

        private Builder() {}

        /**
         * @param outputDir where checkpoints, {@code best/} and metrics go (default: none)
         * @return this builder
         */
        public Builder optOutputDir(Path outputDir) {
            this.outputDir = outputDir;
            return this;
        }

        /**
         * @param epochs passes over the data, positive (default {@value TrainingDefaults#EPOCHS})
         * @return this builder
         */
        public Builder optEpochs(int epochs) {
            this.epochs = epochs;
            return this;
        }

        /**
         * @param maxSteps total optimizer steps, overriding the epochs when positive (default 0)
         * @return this builder
         */
        public Builder optMaxSteps(long maxSteps) {
            this.maxSteps = maxSteps;
            return this;
        }

        /**
         * @param learningRate the peak learning rate (default {@value
         *     TrainingDefaults#LEARNING_RATE})
         * @return this builder
         */
        public Builder optLearningRate(double learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        /**
         * @param schedule the learning-rate schedule (default {@link TrainingDefaults#SCHEDULE})
         * @return this builder
         */
        public Builder optSchedule(ScheduleType schedule) {
            this.schedule = schedule;
            return this;
        }

        /**
         * @param warmupRatio warmup fraction of the steps, in [0, 1] (default {@value
         *     TrainingDefaults#WARMUP_RATIO})
         * @return this builder
         */
        public Builder optWarmupRatio(double warmupRatio) {
            this.warmupRatio = warmupRatio;
            return this;
        }

        /**
         * @param batchSize examples per batch, positive (default {@value TrainingDefaults#BATCH_SIZE})
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * @param evalBatchSize examples per evaluation pass, positive (default twice the batch size)
         * @return this builder
         */
        public Builder optEvalBatchSize(int evalBatchSize) {
            this.evalBatchSize = evalBatchSize;
            return this;
        }

        /**
         * @param maxLength tokens per example, at least 2 (default {@value
         *     TrainingDefaults#MAX_LENGTH})
         * @return this builder
         */
        public Builder optMaxLength(int maxLength) {
            this.maxLength = maxLength;
            return this;
        }

        /**
         * @param gradientAccumulation batches per optimizer step, positive (default 1)
         * @return this builder
         */
        public Builder optGradientAccumulation(int gradientAccumulation) {
            this.gradientAccumulation = gradientAccumulation;
            return this;
        }

        /**
         * @param maxGradNorm clipping norm, 0 for none (default {@value TrainingDefaults#MAX_GRAD_NORM})
         * @return this builder
         */
        public Builder optMaxGradNorm(double maxGradNorm) {
            this.maxGradNorm = maxGradNorm;
            return this;
        }

        /**
         * @param seed the run seed (default {@value TrainingDefaults#SEED})
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param evalEvery evaluate every this many steps, 0 for epoch ends only (default 0)
         * @return this builder
         */
        public Builder optEvalEvery(long evalEvery) {
            this.evalEvery = evalEvery;
            return this;
        }

        /**
         * @param checkpointEvery checkpoint every this many steps, 0 for epoch ends only (default 0)
         * @return this builder
         */
        public Builder optCheckpointEvery(long checkpointEvery) {
            this.checkpointEvery = checkpointEvery;
            return this;
        }

        /**
         * @param keepCheckpoints newest checkpoints kept, positive (default {@value
         *     TrainingDefaults#KEEP_CHECKPOINTS})
         * @return this builder
         */
        public Builder optKeepCheckpoints(int keepCheckpoints) {
            this.keepCheckpoints = keepCheckpoints;
            return this;
        }

        /**
         * @param progressBar whether to draw a console progress bar (default false)
         * @return this builder
         */
        public Builder optProgressBar(boolean progressBar) {
            this.progressBar = progressBar;
            return this;
        }

        /**
         * @param trainingCurve whether to draw the PNG training curve into the output directory
         *     (default false)
         * @return this builder
         */
        public Builder optTrainingCurve(boolean trainingCurve) {
            this.trainingCurve = trainingCurve;
            return this;
        }

        /**
         * @param resume whether to continue from the output directory's newest checkpoint (default
         *     false); fails when there is none
         * @return this builder
         */
        public Builder optResumeFromCheckpoint(boolean resume) {
            this.resumeFromCheckpoint = resume;
            return this;
        }

        /**
         * @param overwrite whether a fresh run replaces an earlier run's checkpoints, {@code best/},
         *     metrics and curve in the output directory (default true); false refuses such a
         *     directory
         * @return this builder
         */
        public Builder optOverwriteOutputDir(boolean overwrite) {
            this.overwriteOutputDir = overwrite;
            return this;
        }

        /**
         * @param optimizer the update rule, e.g. {@code BnbAdamW.builder().optPagingDirectory(dir)
         *     .build()} (default {@link AdamW} with weight decay 0.01)
         * @return this builder
         */
        public Builder optOptimizer(ParameterOptimizer optimizer) {
            this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
            return this;
        }

        /**
         * @param type an optimizer by name, with its defaults ({@link OptimizerType#create()})
         * @return this builder
         */
        public Builder optOptimizer(OptimizerType type) {
            return optOptimizer(Objects.requireNonNull(type, "type").create());
        }

        /**
         * @param gradientCheckpointing whether to checkpoint the model's layer stacks during the
         *     run (default false): only each layer's input is kept and the layers are recomputed in
         *     the backward pass, with the same dropout masks — much less activation memory for
         *     about one more forward pass (Hugging Face's {@code gradient_checkpointing}; refused
         *     with prefix tuning, as PEFT does)
         * @return this builder
         */
        public Builder optGradientCheckpointing(boolean gradientCheckpointing) {
            this.gradientCheckpointing = gradientCheckpointing;
            return this;
        }

        /**
         * @return the arguments
         * @throws IllegalArgumentException naming the first invalid setting
         */
        public TrainingArguments build() {
            check(batchSize > 0, "batchSize must be positive, got " + batchSize);
            check(evalBatchSize >= 0, "evalBatchSize must be positive, got " + evalBatchSize);
            check(maxLength >= 2, "maxLength must be at least 2, got " + maxLength);
            check(!resumeFromCheckpoint || outputDir != null,
                    "resumeFromCheckpoint needs an output directory (optOutputDir)");
            Objects.requireNonNull(schedule, "schedule must not be null");
            TrainingArguments args = new TrainingArguments(this);
            args.toTrainingConfig("eval_loss", false); // validates the engine's settings
            return args;
        }

        private static void check(boolean ok, String message) {
            if (!ok) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
