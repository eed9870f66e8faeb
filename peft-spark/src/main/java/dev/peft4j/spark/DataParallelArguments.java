package dev.peft4j.spark;

import dev.peft4j.core.train.AdamW;
import dev.peft4j.core.train.ParameterOptimizer;
import dev.peft4j.core.train.ScheduleType;
import dev.peft4j.core.train.Sgd;
import dev.peft4j.core.train.TrainingDefaults;

import java.io.Serializable;
import java.time.Duration;
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
 * @param transport how the workers all-reduce (default {@link #DEFAULT_TRANSPORT})
 * @param transportTimeout how long a worker waits without progress for another in a collective
 *     call of the {@link Transport#TCP} transport before it fails (default {@link
 *     #DEFAULT_TRANSPORT_TIMEOUT}); it must exceed the longest time one worker may be ahead of
 *     another, e.g. a slower model load before the first call
 */
public record DataParallelArguments(int epochs, long maxSteps, int batchSize, double learningRate, String optimizer,
        double weightDecay, ScheduleType schedule, double warmupRatio, double maxGradNorm, long seed, boolean shuffle,
        int checkpointEvery, int gradientAccumulationSteps, Transport transport, Duration transportTimeout)
        implements Serializable {

    /** The default transport: TCP between the tasks, milliseconds per all-reduce instead of ~1 s. */
    public static final Transport DEFAULT_TRANSPORT = Transport.TCP;

    /** The default {@link #transportTimeout()}: 10 minutes. */
    public static final Duration DEFAULT_TRANSPORT_TIMEOUT = Duration.ofMinutes(10);

    /**
     * With the default transport.
     *
     * @param epochs passes over the data
     * @param maxSteps optimizer steps to stop after; 0: {@code epochs} full epochs
     * @param batchSize examples per worker per micro-batch
     * @param learningRate peak learning rate
     * @param optimizer {@code adamw} or {@code sgd}
     * @param weightDecay the optimizer's weight decay
     * @param schedule learning-rate schedule
     * @param warmupRatio share of the steps with linear warmup
     * @param maxGradNorm global gradient-norm clip applied after the all-reduce; 0: none
     * @param seed adapter initialization, data order and dropout
     * @param shuffle whether each worker shuffles its partition every epoch
     * @param checkpointEvery write a checkpoint every this many steps; 0: only at the end
     * @param gradientAccumulationSteps micro-batches each worker runs per optimizer step
     */
    public DataParallelArguments(int epochs, long maxSteps, int batchSize, double learningRate, String optimizer,
            double weightDecay, ScheduleType schedule, double warmupRatio, double maxGradNorm, long seed,
            boolean shuffle, int checkpointEvery, int gradientAccumulationSteps) {
        this(epochs, maxSteps, batchSize, learningRate, optimizer, weightDecay, schedule, warmupRatio, maxGradNorm,
                seed, shuffle, checkpointEvery, gradientAccumulationSteps, DEFAULT_TRANSPORT,
                DEFAULT_TRANSPORT_TIMEOUT);
    }

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
        require(transport != null, "transport must not be null");
        require(transportTimeout != null && transportTimeout.toMillis() > 0,
                "transportTimeout must be positive, got " + transportTimeout);
    }

    /**
     * @return the library's defaults: 3 epochs, batch 16 per worker, AdamW 1e-3, linear schedule,
     *     the TCP transport with a 10-minute timeout
     */
    public static DataParallelArguments defaults() {
        return new DataParallelArguments(TrainingDefaults.EPOCHS, 0, TrainingDefaults.BATCH_SIZE,
                TrainingDefaults.LEARNING_RATE, "adamw", 0.0, TrainingDefaults.SCHEDULE, TrainingDefaults.WARMUP_RATIO,
                TrainingDefaults.MAX_GRAD_NORM, TrainingDefaults.SEED, true, 0, 1, DEFAULT_TRANSPORT,
                DEFAULT_TRANSPORT_TIMEOUT);
    }

    /**
     * @param steps micro-batches per optimizer step, positive
     * @return these arguments with that gradient accumulation
     */
    public DataParallelArguments withGradientAccumulationSteps(int steps) {
        return new DataParallelArguments(epochs, maxSteps, batchSize, learningRate, optimizer, weightDecay, schedule,
                warmupRatio, maxGradNorm, seed, shuffle, checkpointEvery, steps, transport, transportTimeout);
    }

    /**
     * @param transport how the workers all-reduce
     * @return these arguments with that transport
     */
    public DataParallelArguments withTransport(Transport transport) {
        return new DataParallelArguments(epochs, maxSteps, batchSize, learningRate, optimizer, weightDecay, schedule,
                warmupRatio, maxGradNorm, seed, shuffle, checkpointEvery, gradientAccumulationSteps, transport,
                transportTimeout);
    }

    /**
     * @param timeout how long a worker waits without progress for another ({@link Transport#TCP})
     * @return these arguments with that timeout
     */
    public DataParallelArguments withTransportTimeout(Duration timeout) {
        return new DataParallelArguments(epochs, maxSteps, batchSize, learningRate, optimizer, weightDecay, schedule,
                warmupRatio, maxGradNorm, seed, shuffle, checkpointEvery, gradientAccumulationSteps, transport,
                timeout);
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
