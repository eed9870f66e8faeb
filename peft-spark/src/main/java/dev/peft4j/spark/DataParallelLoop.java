package dev.peft4j.spark;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.nn.DropoutStream;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Scalars;
import dev.peft4j.core.train.GradientClipping;
import dev.peft4j.core.train.LrSchedule;
import dev.peft4j.core.train.OptimizerState;
import dev.peft4j.core.train.ParameterOptimizer;
import dev.peft4j.core.train.RandomBatchSampler;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.StepRandom;
import dev.peft4j.core.train.TrainStep;
import dev.peft4j.core.train.TrainingDivergedException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One worker's side of synchronous data-parallel training: every optimizer step each rank runs its
 * {@code k = gradientAccumulationSteps} micro-batches, summing {@code ∂(Σ loss)/∂θ} locally, and
 * the ranks sum {@code [∂(Σ_local loss)/∂θ, n_local, Σ_local loss]} with one {@link
 * Collective#allReduceSum} (only the trainable parameters' gradients, flattened in parameter
 * order). Then every rank divides by the global count {@code N = Σ_r n_r} (examples, or trained
 * tokens for a causal LM: see {@link Normalization}):
 *
 * <pre>g = (1/N) Σ_r Σ_{micro-batch b of rank r} Σ_{i ∈ b} ∂ℓ_i/∂θ</pre>
 *
 * <p>the gradient of the mean loss over the global batch (every micro-batch of every rank), as one
 * process would compute it on the concatenated batch. Clipping by global norm follows the
 * reduction; the optimizer step is the same on every rank, so the replicas stay bit-identical. They
 * start identical: rank 0's trainable parameters are broadcast before the first step. Ranks agree
 * on the steps per epoch ({@code ceil(b_max / k)}, {@code b_max} the largest partition's
 * micro-batch count); a rank whose partition is exhausted contributes zeros.
 *
 * <p>Ranks that are threads of one JVM ({@code local[n]}, executors with several cores) do not
 * share randomness: {@code StepRandom.seedEngine} keys each rank thread's own {@link
 * DropoutStream} before every micro-batch, so a rank's float32 CPU dropout masks are those of the
 * same rank run alone (what still draws from PyTorch's process-wide generator, such as {@code
 * torch.dropout} on other arrays, is not). {@link #run} clears the thread's stream when it ends.
 */
final class DataParallelLoop {

    /** What the loss of a step is a mean over. */
    enum Normalization {
        /** examples: a micro-batch of {@code n} ids weighs {@code n} (classification) */
        EXAMPLES,
        /**
         * trained tokens: a micro-batch weighs {@link dev.peft4j.core.train.StepOutput#tokens()},
         * which the step sets to its count of labels other than {@code -100} (causal LM)
         */
        TOKENS
    }

    /** Observes each finished step on every rank (progress, tests, fault injection). */
    @FunctionalInterface
    interface StepObserver {
        /**
         * @param rank the rank
         * @param step the 1-based step just made
         * @param loss the global mean loss of the step
         */
        void onStep(int rank, long step, double loss);
    }

    private final Map<String, Parameter> trainable;
    private final TrainStep trainStep;
    private final int localSize;
    private final Collective collective;
    private final DataParallelArguments args;
    private final Normalization normalization;
    private final ParameterOptimizer optimizer;
    private final int parameterCount;
    private long collectiveNanos;
    private long stepNanos;

    /**
     * @param model the wrapped model; its trainable parameters are trained
     * @param trainStep the loss of a batch of local example ids (mean over the batch)
     * @param localSize the number of examples in this rank's partition (may be 0)
     * @param collective the ranks
     * @param args the settings
     */
    DataParallelLoop(Module model, TrainStep trainStep, int localSize, Collective collective,
            DataParallelArguments args) {
        this(model, trainStep, localSize, collective, args, Normalization.EXAMPLES);
    }

    /**
     * @param model the wrapped model; its trainable parameters are trained
     * @param trainStep the loss of a batch of local example ids (mean over its examples or tokens)
     * @param localSize the number of examples in this rank's partition (may be 0)
     * @param collective the ranks
     * @param args the settings
     * @param normalization what the step's loss is a mean over
     */
    DataParallelLoop(Module model, TrainStep trainStep, int localSize, Collective collective,
            DataParallelArguments args, Normalization normalization) {
        this.trainable = new LinkedHashMap<>();
        model.namedParameters().forEach((k, p) -> {
            if (p.requiresGradient()) {
                trainable.put(k, p);
            }
        });
        if (trainable.isEmpty()) {
            throw new IllegalStateException("the model has no trainable parameters (all are frozen)");
        }
        this.trainStep = trainStep;
        this.localSize = localSize;
        this.collective = collective;
        this.args = args;
        this.normalization = normalization;
        this.optimizer = args.newOptimizer();
        int n = 0;
        for (Parameter p : trainable.values()) {
            n += Math.toIntExact(p.getArray().size());
        }
        this.parameterCount = n;
    }

    /** @return the trainable parameters by path, in the order their gradients are flattened */
    Map<String, Parameter> trainable() {
        return trainable;
    }

    /** @return the number of trainable values (the all-reduced vector has two more) */
    int parameterCount() {
        return parameterCount;
    }

    /** @return this rank's micro-batches of epoch {@code epoch}; empty for an empty partition */
    List<List<Integer>> localBatches(int epoch) {
        if (localSize == 0) {
            return List.of();
        }
        return new RandomBatchSampler(localSize, args.batchSize(), args.shuffle(), false)
                .batches(StepRandom.derive(args.seed(), collective.rank()), epoch);
    }

    /**
     * @return the optimizer steps per epoch all ranks agree on: the largest partition's
     *     micro-batch count over the gradient accumulation steps, rounded up
     * @throws IllegalStateException when every partition is empty
     */
    long agreeStepsPerEpoch() {
        long[] sizes = collective.allGatherLong(localSize);
        long max = Arrays.stream(sizes).max().orElse(0);
        if (max == 0) {
            throw new IllegalStateException("no training examples: every partition is empty");
        }
        return args.stepsPerEpoch((max + args.batchSize() - 1) / args.batchSize());
    }

    /**
     * Computes this rank's gradient of {@code Σ loss} over its micro-batches of the step (summed
     * locally) and all-reduces it: one collective call on every rank, whether or not it has a
     * batch.
     *
     * @param microBatches this rank's example ids of the step, one list per micro-batch (none:
     *     contributes zeros)
     * @param stepNo the 1-based step (with the micro-batch's index, seeds dropout)
     * @param ps the parameter store
     * @param manager a step-scoped manager
     * @return the reduced vector: {@code parameterCount} gradient sums, then the global count
     *     (examples or trained tokens), then the global loss sum
     */
    float[] reduce(List<List<Integer>> microBatches, long stepNo, ParameterStore ps, NDManager manager) {
        float[] local = new float[parameterCount + 2];
        long count = 0;
        double lossSum = 0;
        for (int i = 0; i < microBatches.size(); i++) {
            List<Integer> ids = microBatches.get(i);
            StepRandom.seedEngine(args.seed(), (stepNo - 1) * args.gradientAccumulationSteps() + i + 1,
                    collective.rank());
            try (NDScope scope = new NDScope();
                    NDManager mm = manager.newSubManager();
                    ThreadBackward gc = new ThreadBackward()) {
                scope.suppressNotUsedWarning();
                StepOutput out = trainStep.compute(ps, mm, ids, true);
                long weight = normalization == Normalization.EXAMPLES ? ids.size() : out.tokens();
                if (weight == 0) {
                    continue; // a micro-batch without trained tokens adds nothing
                }
                lossSum += out.lossValue() * weight;
                count += weight;
                gc.backward(Scalars.mul(out.loss(), weight)); // accumulates into the gradients
            }
        }
        if (count > 0) {
            int off = 0;
            for (Parameter p : trainable.values()) {
                NDArray g = p.getArray().getGradient();
                g.attach(manager);
                float[] v = g.toFloatArray();
                System.arraycopy(v, 0, local, off, v.length);
                off += v.length;
            }
            local[parameterCount] = count;
            local[parameterCount + 1] = (float) lossSum;
        }
        long t = System.nanoTime();
        float[] reduced = collective.allReduceSum(local);
        collectiveNanos += System.nanoTime() - t;
        return reduced;
    }

    /**
     * Runs one optimizer step: reduce, divide by the global count, clip, update, zero.
     *
     * @param microBatches this rank's micro-batches of the step
     * @param stepNo the 1-based step
     * @param lr its learning rate
     * @param ps the parameter store
     * @param root the run's manager
     * @param state the optimizer state
     * @return the global mean loss of the step
     */
    double step(List<List<Integer>> microBatches, long stepNo, double lr, ParameterStore ps, NDManager root, OptimizerState state) {
        long t0 = System.nanoTime();
        try (NDScope scope = new NDScope();
                NDManager sm = root.newSubManager()) {
            scope.suppressNotUsedWarning();
            float[] reduced = reduce(microBatches, stepNo, ps, sm);
            float count = reduced[parameterCount];
            if (count == 0) {
                throw new IllegalStateException("step " + stepNo + " has no trained example or token on any rank");
            }
            double loss = reduced[parameterCount + 1] / count;
            if (!Double.isFinite(loss)) {
                throw new TrainingDivergedException(stepNo, "loss", loss, null);
            }
            Map<String, NDArray> grads = new LinkedHashMap<>();
            int off = 0;
            for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                NDArray param = e.getValue().getArray();
                int n = Math.toIntExact(param.size());
                float[] g = new float[n];
                for (int i = 0; i < n; i++) {
                    g[i] = reduced[off + i] / count;
                }
                off += n;
                grads.put(e.getKey(), sm.create(g, param.getShape()));
            }
            List<NDArray> values = new ArrayList<>(grads.values());
            double norm = args.maxGradNorm() > 0 ? GradientClipping.clip(values, args.maxGradNorm())
                    : GradientClipping.globalNorm(values);
            if (!Double.isFinite(norm)) {
                throw new TrainingDivergedException(stepNo, "gradient norm", norm, null);
            }
            state.beginStep();
            for (Map.Entry<String, NDArray> e : grads.entrySet()) {
                optimizer.update(e.getKey(), trainable.get(e.getKey()).getArray(), e.getValue(), lr, state);
            }
            return loss;
        } finally {
            zeroGradients();
            stepNanos += System.nanoTime() - t0;
        }
    }

    /**
     * Trains from step {@code start} (0 for a fresh run) to the end.
     *
     * @param start steps already made (resumed from a checkpoint)
     * @param state the optimizer state (restored when resuming)
     * @param root the run's manager
     * @param checkpoint called after every step with the step number (writes when due)
     * @param observer sees every step
     * @return the global mean loss of every step made by this call
     * @throws IOException when a checkpoint cannot be written
     */
    double[] run(long start, OptimizerState state, NDManager root, Checkpointer checkpoint, StepObserver observer)
            throws IOException {
        ThreadBackward.noGradOnThisThread();
        broadcastTrainableWeights();
        long stepsPerEpoch = agreeStepsPerEpoch();
        long total = args.totalSteps(stepsPerEpoch);
        LrSchedule schedule = new LrSchedule(args.schedule(), (long) Math.ceil(args.warmupRatio() * total), total);
        ParameterStore ps = new ParameterStore(root, false);
        double[] losses = new double[(int) Math.max(0, total - start)];
        int cachedEpoch = -1;
        List<List<Integer>> batches = List.of();
        try {
            for (long s = start; s < total; s++) {
                int epoch = (int) (s / stepsPerEpoch);
                if (epoch != cachedEpoch) {
                    batches = localBatches(epoch);
                    cachedEpoch = epoch;
                }
                int first = (int) (s % stepsPerEpoch) * args.gradientAccumulationSteps();
                List<List<Integer>> micro = batches.subList(Math.min(first, batches.size()),
                        Math.min(first + args.gradientAccumulationSteps(), batches.size()));
                long stepNo = s + 1;
                double loss = step(micro, stepNo, schedule.learningRate(args.learningRate(), stepNo), ps, root, state);
                losses[(int) (s - start)] = loss;
                if (observer != null) {
                    observer.onStep(collective.rank(), stepNo, loss);
                }
                checkpoint.afterStep(stepNo, total);
            }
        } finally {
            DropoutStream.clear(); // the task thread's later dropout draws from the engine again
        }
        return losses;
    }

    /**
     * Makes every rank's trainable parameters rank 0's (as DDP does at construction): a seeded
     * adapter is the same everywhere, but a freshly initialized head drawn from the engine's
     * random numbers is not.
     */
    void broadcastTrainableWeights() {
        float[] mine = new float[collective.rank() == 0 ? parameterCount : 0];
        if (collective.rank() == 0) {
            int off = 0;
            for (Parameter p : trainable.values()) {
                float[] v = p.getArray().toFloatArray();
                System.arraycopy(v, 0, mine, off, v.length);
                off += v.length;
            }
        }
        float[] root = Float32Base64.decode(collective.allGather(Float32Base64.encode(mine)).get(0));
        if (collective.rank() != 0) {
            int off = 0;
            for (Parameter p : trainable.values()) {
                int n = Math.toIntExact(p.getArray().size());
                float[] v = new float[n];
                System.arraycopy(root, off, v, 0, n);
                p.getArray().set(v);
                off += n;
            }
        }
    }

    /** @return nanoseconds spent in the all-reduce so far */
    long collectiveNanos() {
        return collectiveNanos;
    }

    /** @return nanoseconds spent in whole steps so far */
    long stepNanos() {
        return stepNanos;
    }

    private void zeroGradients() {
        for (Parameter p : trainable.values()) {
            JniUtils.zeroGrad((PtNDArray) p.getArray());
        }
    }

    /** Writes a checkpoint when one is due. */
    @FunctionalInterface
    interface Checkpointer {
        /**
         * @param step the step just made
         * @param total the run's total steps
         * @throws IOException when writing fails
         */
        void afterStep(long step, long total) throws IOException;
    }
}
