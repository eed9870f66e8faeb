package dev.peft4j.core.train;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Hyperparameters and bookkeeping settings of a run; immutable.
 *
 * <pre>{@code
 * TrainingConfig config = TrainingConfig.builder()
 *         .setOutputDir(Path.of("runs/sst2"))
 *         .setEpochs(3)
 *         .optLearningRate(2e-4)
 *         .optSchedule(ScheduleType.LINEAR)
 *         .optWarmupSteps(100)
 *         .optGradientAccumulation(4)
 *         .optCheckpointEvery(500)
 *         .build();
 * }</pre>
 *
 * <p>The output directory, when set, receives {@code checkpoints/checkpoint-<step>}, {@code best/}
 * (the best weights by {@link Builder#optBestMetric}), {@code metrics.jsonl} and {@code
 * training-curve.png}. Without one, a run writes nothing to disk (no checkpoints, no best weights,
 * no metrics file, no curve; it cannot be resumed). Either the epochs or {@code maxSteps} must be
 * set:
 *
 * <pre>{@code
 * TrainingConfig inMemory = TrainingConfig.builder().optMaxSteps(200).build();
 * }</pre>
 */
public final class TrainingConfig {

    /** Sub-directory of the checkpoints. */
    public static final String CHECKPOINTS_DIR = "checkpoints";

    /** Sub-directory of the best weights. */
    public static final String BEST_DIR = "best";

    /** The metrics log file name. */
    public static final String METRICS_FILE = "metrics.jsonl";

    /** The training curve file name. */
    public static final String CURVE_FILE = "training-curve.png";

    private final Path outputDir;
    private final int epochs;
    private final long maxSteps;
    private final double learningRate;
    private final ParameterOptimizer optimizer;
    private final ScheduleType schedule;
    private final long warmupSteps;
    private final double warmupRatio;
    private final int gradientAccumulation;
    private final double maxGradNorm;
    private final long evalEvery;
    private final long checkpointEvery;
    private final int keepCheckpoints;
    private final String bestMetric;
    private final boolean higherIsBetter;
    private final long seed;
    private final boolean progressBar;
    private final boolean trainingCurve;

    private TrainingConfig(Builder b) {
        this.outputDir = b.outputDir;
        this.epochs = b.epochs;
        this.maxSteps = b.maxSteps;
        this.learningRate = b.learningRate;
        this.optimizer = b.optimizer;
        this.schedule = b.schedule;
        this.warmupSteps = b.warmupSteps;
        this.warmupRatio = b.warmupRatio;
        this.gradientAccumulation = b.gradientAccumulation;
        this.maxGradNorm = b.maxGradNorm;
        this.evalEvery = b.evalEvery;
        this.checkpointEvery = b.checkpointEvery;
        this.keepCheckpoints = b.keepCheckpoints;
        this.bestMetric = b.bestMetric;
        this.higherIsBetter = b.higherIsBetter;
        this.seed = b.seed;
        this.progressBar = b.progressBar;
        this.trainingCurve = b.trainingCurve;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the run's output directory, or null when the run writes nothing to disk */
    public Path outputDir() {
        return outputDir;
    }

    /** @return whether the run has an output directory (checkpoints, best weights, metrics) */
    public boolean writesToDisk() {
        return outputDir != null;
    }

    /** @return the directory of the checkpoints, or null without an output directory */
    public Path checkpointsDir() {
        return outputDir == null ? null : outputDir.resolve(CHECKPOINTS_DIR);
    }

    /** @return the number of epochs (ignored when {@link #maxSteps()} is positive; 0 when unset) */
    public int epochs() {
        return epochs;
    }

    /** @return the total steps when positive, overriding epochs; 0 otherwise */
    public long maxSteps() {
        return maxSteps;
    }

    /** @return the base learning rate */
    public double learningRate() {
        return learningRate;
    }

    /** @return the optimizer */
    public ParameterOptimizer optimizer() {
        return optimizer;
    }

    /** @return the learning-rate schedule type */
    public ScheduleType schedule() {
        return schedule;
    }

    /**
     * @param totalSteps the run's total steps
     * @return the warmup steps: the explicit count, else {@code ceil(ratio × total)}
     */
    public long warmupSteps(long totalSteps) {
        return warmupSteps > 0 ? warmupSteps : (long) Math.ceil(warmupRatio * totalSteps);
    }

    /** @return micro-batches per optimizer step */
    public int gradientAccumulation() {
        return gradientAccumulation;
    }

    /** @return the clipping norm, 0 when clipping is off */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** @return evaluate every this many steps (0: only at epoch ends and the end) */
    public long evalEvery() {
        return evalEvery;
    }

    /** @return checkpoint every this many steps (0: only at epoch ends and the end) */
    public long checkpointEvery() {
        return checkpointEvery;
    }

    /** @return how many checkpoints to keep */
    public int keepCheckpoints() {
        return keepCheckpoints;
    }

    /** @return the metric selecting the best weights */
    public String bestMetric() {
        return bestMetric;
    }

    /** @return whether a higher {@link #bestMetric()} is better */
    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /** @return the run seed */
    public long seed() {
        return seed;
    }

    /** @return whether to draw a console progress bar (only when a console exists) */
    public boolean progressBar() {
        return progressBar;
    }

    /** @return whether to draw {@value #CURVE_FILE} */
    public boolean trainingCurve() {
        return trainingCurve;
    }

    /** Builder of {@link TrainingConfig}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private Path outputDir;
        private int epochs;
        private long maxSteps;
        private double learningRate = 2e-4;
        private ParameterOptimizer optimizer = AdamW.builder().build();
        private ScheduleType schedule = ScheduleType.LINEAR;
        private long warmupSteps;
        private double warmupRatio;
        private int gradientAccumulation = 1;
        private double maxGradNorm = 1.0;
        private long evalEvery;
        private long checkpointEvery;
        private int keepCheckpoints = 2;
        private String bestMetric = "eval_loss";
        private boolean higherIsBetter;
        private long seed = 42;
        private boolean progressBar = true;
        private boolean trainingCurve = true;

        private Builder() {}

        /**
         * @param outputDir where checkpoints, best weights, metrics and the curve go (default: none,
         *     the run writes nothing to disk)
         * @return this builder
         */
        public Builder optOutputDir(Path outputDir) {
            this.outputDir = outputDir;
            return this;
        }

        /**
         * Same as {@link #optOutputDir}; kept for existing callers.
         *
         * @param outputDir where checkpoints, best weights, metrics and the curve go
         * @return this builder
         */
        public Builder setOutputDir(Path outputDir) {
            this.outputDir = outputDir;
            return this;
        }

        /**
         * @param epochs passes over the data, positive (required unless {@link #optMaxSteps} is
         *     positive)
         * @return this builder
         */
        public Builder optEpochs(int epochs) {
            this.epochs = epochs;
            return this;
        }

        /**
         * Same as {@link #optEpochs}; kept for existing callers.
         *
         * @param epochs passes over the data, positive
         * @return this builder
         */
        public Builder setEpochs(int epochs) {
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
         * @param learningRate the base learning rate, positive (default 2e-4)
         * @return this builder
         */
        public Builder optLearningRate(double learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        /**
         * @param optimizer the update rule (default {@link AdamW} with its defaults)
         * @return this builder
         */
        public Builder optOptimizer(ParameterOptimizer optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /**
         * @param schedule the learning-rate schedule (default {@link ScheduleType#LINEAR})
         * @return this builder
         */
        public Builder optSchedule(ScheduleType schedule) {
            this.schedule = schedule;
            return this;
        }

        /**
         * @param warmupSteps linear warmup steps, not negative (default 0); wins over the ratio
         * @return this builder
         */
        public Builder optWarmupSteps(long warmupSteps) {
            this.warmupSteps = warmupSteps;
            return this;
        }

        /**
         * @param warmupRatio warmup as a fraction of the total steps, in [0, 1] (default 0)
         * @return this builder
         */
        public Builder optWarmupRatio(double warmupRatio) {
            this.warmupRatio = warmupRatio;
            return this;
        }

        /**
         * @param gradientAccumulation micro-batches per optimizer step, positive (default 1)
         * @return this builder
         */
        public Builder optGradientAccumulation(int gradientAccumulation) {
            this.gradientAccumulation = gradientAccumulation;
            return this;
        }

        /**
         * @param maxGradNorm global-norm clipping threshold, 0 to disable (default 1.0)
         * @return this builder
         */
        public Builder optMaxGradNorm(double maxGradNorm) {
            this.maxGradNorm = maxGradNorm;
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
         * @param keepCheckpoints how many of the newest checkpoints to keep, positive (default 2)
         * @return this builder
         */
        public Builder optKeepCheckpoints(int keepCheckpoints) {
            this.keepCheckpoints = keepCheckpoints;
            return this;
        }

        /**
         * @param metric the evaluation metric selecting the best weights, {@code eval_} prefix
         *     optional (default {@code eval_loss})
         * @param higherIsBetter whether higher values are better (default false)
         * @return this builder
         */
        public Builder optBestMetric(String metric, boolean higherIsBetter) {
            this.bestMetric = metric;
            this.higherIsBetter = higherIsBetter;
            return this;
        }

        /**
         * @param seed the run seed for data order and dropout (default 42)
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param progressBar whether to draw a console progress bar when a console exists
         *     (default true)
         * @return this builder
         */
        public Builder optProgressBar(boolean progressBar) {
            this.progressBar = progressBar;
            return this;
        }

        /**
         * @param trainingCurve whether to draw {@value TrainingConfig#CURVE_FILE} (default true)
         * @return this builder
         */
        public Builder optTrainingCurve(boolean trainingCurve) {
            this.trainingCurve = trainingCurve;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the first invalid field
         */
        public TrainingConfig build() {
            check(maxSteps >= 0, "maxSteps must not be negative, got " + maxSteps);
            if (maxSteps == 0 && epochs <= 0) {
                throw new IllegalArgumentException("epochs must be positive (optEpochs) unless maxSteps is set,"
                        + " got " + epochs);
            }
            check(epochs >= 0, "epochs must not be negative, got " + epochs);
            check(learningRate > 0 && Double.isFinite(learningRate),
                    "learningRate must be positive, got " + learningRate);
            Objects.requireNonNull(optimizer, "optimizer must not be null");
            Objects.requireNonNull(schedule, "schedule must not be null");
            check(warmupSteps >= 0, "warmupSteps must not be negative, got " + warmupSteps);
            check(warmupRatio >= 0 && warmupRatio <= 1, "warmupRatio must be in [0, 1], got " + warmupRatio);
            check(gradientAccumulation > 0,
                    "gradientAccumulation must be positive, got " + gradientAccumulation);
            check(maxGradNorm >= 0 && Double.isFinite(maxGradNorm),
                    "maxGradNorm must be 0 (off) or positive, got " + maxGradNorm);
            check(evalEvery >= 0, "evalEvery must not be negative, got " + evalEvery);
            check(checkpointEvery >= 0, "checkpointEvery must not be negative, got " + checkpointEvery);
            check(keepCheckpoints > 0, "keepCheckpoints must be positive, got " + keepCheckpoints);
            check(bestMetric != null && !bestMetric.isBlank(), "bestMetric must not be blank");
            bestMetric = MetricsLog.evalName(bestMetric);
            return new TrainingConfig(this);
        }

        private static void check(boolean ok, String message) {
            if (!ok) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
