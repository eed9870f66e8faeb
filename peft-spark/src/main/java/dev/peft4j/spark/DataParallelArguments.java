package dev.peft4j.spark;

import dev.peft4j.core.train.AdamW;
import dev.peft4j.core.train.ParameterOptimizer;
import dev.peft4j.core.train.ScheduleType;
import dev.peft4j.core.train.Sgd;
import dev.peft4j.core.train.TrainingDefaults;

import java.io.Serializable;
import java.util.Locale;

/**
 * The settings of a data-parallel run, shipped to every worker (serializable). Defaults are the
 * library's ({@link TrainingDefaults}).
 *
 * @param epochs passes over the data
 * @param maxSteps optimizer steps to stop after; 0: {@code epochs} full epochs
 * @param batchSize examples per worker per micro-batch (the global batch of an optimizer step is
 *     {@code workers × batchSize × gradientAccumulationSteps})
 * @param learningRate peak learning rate
 * @param optimizer {@code adamw} or {@code sgd}
 * @param weightDecay the optimizer's decoupled (AdamW) or L2 (SGD) weight decay
 * @param schedule learning-rate schedule
 * @param warmupRatio share of the steps with linear warmup
 * @param maxGradNorm global gradient-norm clip applied after the all-reduce; 0: none
 * @param seed adapter initialization, data order and dropout
 * @param shuffle whether each worker shuffles its partition every epoch
 * @param checkpointEvery write a checkpoint every this many steps; 0: only at the end
 * @param gradientAccumulationSteps micro-batches each worker runs per optimizer step, their
 *     gradients summed locally before the step's one all-reduce (1: none)
 */
public record DataParallelArguments(int epochs, long maxSteps, int batchSize, double learningRate, String optimizer,
        double weightDecay, ScheduleType schedule, double warmupRatio, double maxGradNorm, long seed, boolean shuffle,
        int checkpointEvery, int gradientAccumulationSteps) implements Serializable {

    /**
     * Without gradient accumulation.
     *
     * @param epochs passes over the data
     * @param maxSteps optimizer steps to stop after; 0: {@code epochs} full epochs
     * @param batchSize examples per worker per optimizer step
     * @param learningRate peak learning rate
     * @param optimizer {@code adamw} or {@code sgd}
     * @param weightDecay the optimizer's weight decay
     * @param schedule learning-rate schedule
     * @param warmupRatio share of the steps with linear warmup
     * @param maxGradNorm global gradient-norm clip applied after the all-reduce; 0: none
     * @param seed adapter initialization, data order and dropout
     * @param shuffle whether each worker shuffles its partition every epoch
     * @param checkpointEvery write a checkpoint every this many steps; 0: only at the end
     */
    public DataParallelArguments(int epochs, long maxSteps, int batchSize, double learningRate, String optimizer,
            double weightDecay, ScheduleType schedule, double warmupRatio, double maxGradNorm, long seed,
            boolean shuffle, int checkpointEvery) {
        this(epochs, maxSteps, batchSize, learningRate, optimizer, weightDecay, schedule, warmupRatio, maxGradNorm,
                seed, shuffle, checkpointEvery, 1);
    }

    /** Checks the fields. */
    public DataParallelArguments {
        require(epochs > 0, "epochs must be positive, got " + epochs);
        require(maxSteps >= 0, "maxSteps must not be negative, got " + maxSteps);
        require(batchSize > 0, "batchSize must be positive, got " + batchSize);
        require(learningRate > 0, "learningRate must be positive, got " + learningRate);
        require("adamw".equals(optimizer) || "sgd".equals(optimizer),
                "optimizer must be adamw or sgd, got " + optimizer);
        require(weightDecay >= 0, "weightDecay must not be negative, got " + weightDecay);
        require(schedule != null, "schedule must not be null");
        require(warmupRatio >= 0 && warmupRatio < 1, "warmupRatio must be in [0, 1), got " + warmupRatio);
        require(maxGradNorm >= 0, "maxGradNorm must not be negative, got " + maxGradNorm);
        require(checkpointEvery >= 0, "checkpointEvery must not be negative, got " + checkpointEvery);
        require(gradientAccumulationSteps > 0,
                "gradientAccumulationSteps must be positive, got " + gradientAccumulationSteps);
    }

    /** @return the library's defaults: 3 epochs, batch 16 per worker, AdamW 1e-3, linear schedule */
    public static DataParallelArguments defaults() {
        return new DataParallelArguments(TrainingDefaults.EPOCHS, 0, TrainingDefaults.BATCH_SIZE,
                TrainingDefaults.LEARNING_RATE, "adamw", 0.0, TrainingDefaults.SCHEDULE, TrainingDefaults.WARMUP_RATIO,
                TrainingDefaults.MAX_GRAD_NORM, TrainingDefaults.SEED, true, 0, 1);
    }

    /**
     * @param steps micro-batches per optimizer step, positive
     * @return these arguments with that gradient accumulation
     */
    public DataParallelArguments withGradientAccumulationSteps(int steps) {
        return new DataParallelArguments(epochs, maxSteps, batchSize, learningRate, optimizer, weightDecay, schedule,
                warmupRatio, maxGradNorm, seed, shuffle, checkpointEvery, steps);
    }

    /** @return the update rule */
    ParameterOptimizer newOptimizer() {
        return "sgd".equals(optimizer.toLowerCase(Locale.ROOT))
                ? Sgd.builder().optWeightDecay(weightDecay).build()
                : AdamW.builder().optWeightDecay(weightDecay).build();
    }

    /**
     * @param microBatches the most micro-batches of one worker's partition in an epoch
     * @return optimizer steps per epoch: {@code ceil(microBatches / gradientAccumulationSteps)}
     */
    long stepsPerEpoch(long microBatches) {
        return (microBatches + gradientAccumulationSteps - 1) / gradientAccumulationSteps;
    }

    /**
     * @param stepsPerEpoch optimizer steps per epoch agreed by the workers
     * @return the run's total optimizer steps
     */
    long totalSteps(long stepsPerEpoch) {
        return maxSteps > 0 ? maxSteps : epochs * stepsPerEpoch;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
