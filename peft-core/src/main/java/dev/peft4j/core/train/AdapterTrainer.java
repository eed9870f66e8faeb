package dev.peft4j.core.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.checkpoint.GradientCheckpointing;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.nn.DropoutStream;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Scalars;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Trains the trainable parameters of a {@link Module} (named so as not to clash with DJL's {@code
 * Trainer}).
 *
 * <pre>{@code
 * TrainStep step = ClassificationTask.trainStep(train, classifier);
 * TrainingResult result = AdapterTrainer.builder()
 *         .setModel(model)
 *         .setConfig(TrainingConfig.builder().setOutputDir(out).setEpochs(3).build())
 *         .setBatchSampler(new RandomBatchSampler(train.size(), 16, true, false))
 *         .setTrainStep(step)
 *         .optEvaluator(Evaluator.meanLoss(step, new RandomBatchSampler(train.size(), 32, false, false)))
 *         .optBestSaver(saver)   // e.g. peftModel::save: best/ as a PEFT adapter directory
 *         .build()
 *         .train();
 * }</pre>
 *
 * <p>{@link FineTuner} does this wiring for BERT classifiers and Llama-family language models.
 *
 * <p>Without an output directory ({@link TrainingConfig#outputDir()} null) the run writes nothing:
 * no checkpoint, no best weights, no metrics file, no curve; {@link #resume()} is then refused.
 *
 * <p>Each optimizer step runs {@code gradientAccumulation} micro-batches (losses scaled by one
 * over the number of micro-batches in the step), clips the global gradient norm, checks the loss
 * and norm are finite, and updates the parameters that require gradients. Before every
 * micro-batch the calling thread's dropout stream and the engine are seeded with {@link
 * StepRandom#seedEngine}, and every epoch's batch order is derived from the run seed, so {@link
 * #resume()} replays exactly the losses of an uninterrupted run. All arrays created during a step (in any manager) are closed when it ends.
 * After each micro-batch's backward pass the recomputations of gradient-checkpointed layer stacks
 * run ({@link GradientCheckpointing#backward}; nothing happens when checkpointing is off).
 *
 * <p>Instances run one call of {@link #train()} or {@link #resume()} at a time; {@link
 * #requestStop()} may be called from any thread. Trainers of different models may run at once on
 * different threads: float32 CPU dropout masks come from each thread's own {@link
 * dev.peft4j.core.nn.DropoutStream}, so each run gives the losses it gives alone (dropout through
 * {@code torch.dropout}, on arrays that are not float32 or not on the CPU, still shares the
 * engine's process-global generator). The thread's stream is cleared when the run ends.
 */
public final class AdapterTrainer {

    /** Sub-directory of a checkpoint holding the {@link CheckpointIo} weights. */
    public static final String WEIGHTS_DIR = "adapter";

    /** The optimizer state file inside a checkpoint. */
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";

    private static final Logger LOG = LoggerFactory.getLogger(AdapterTrainer.class);

    private final Module model;
    private final TrainingConfig config;
    private final BatchSampler sampler;
    private final TrainStep trainStep;
    private final Evaluator evaluator;
    private final CheckpointIo checkpointIo;
    private final AdapterSaver bestSaver;
    private final List<StepListener> listeners;
    private volatile boolean stopRequested;

    private AdapterTrainer(Builder b) {
        this.model = b.model;
        this.config = b.config;
        this.sampler = b.sampler;
        this.trainStep = b.trainStep;
        this.evaluator = b.evaluator;
        this.checkpointIo = b.checkpointIo != null ? b.checkpointIo : new TrainableParametersIo(b.model);
        this.bestSaver = b.bestSaver != null ? b.bestSaver : checkpointIo::save;
        this.listeners = List.copyOf(b.listeners);
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Asks the running loop to stop after the current step; it then writes a checkpoint and
     * returns with {@link TrainingResult#stoppedEarly()} set.
     */
    public void requestStop() {
        stopRequested = true;
    }

    /**
     * Starts a fresh run.
     *
     * @return the result
     * @throws IOException when checkpoints, metrics or weights cannot be written
     * @throws IllegalStateException when the output directory already holds a complete checkpoint
     *     (use {@link #resume()}) or the model is not ready
     * @throws TrainingDivergedException when a loss or gradient norm is not finite
     */
    public TrainingResult train() throws IOException {
        if (!config.writesToDisk()) {
            return run(null);
        }
        Optional<Path> existing = new Checkpoints(config.checkpointsDir()).latest();
        if (existing.isPresent()) {
            throw new IllegalStateException("output directory " + config.outputDir()
                    + " already holds checkpoint " + existing.get().getFileName()
                    + "; call resume() or choose another outputDir");
        }
        return run(null);
    }

    /**
     * Continues from the newest complete checkpoint in the output directory.
     *
     * @return the result; its losses are those of the steps run by this call
     * @throws NoSuchFileException when there is no complete checkpoint
     * @throws IOException when reading or writing fails
     * @throws IllegalStateException when the checkpoint does not fit this configuration or data
     */
    public TrainingResult resume() throws IOException {
        requireOutputDir();
        Path latest = new Checkpoints(config.checkpointsDir()).latest()
                .orElseThrow(() -> new NoSuchFileException(config.checkpointsDir().toString(), null,
                        "no complete checkpoint to resume from"));
        return resume(latest);
    }

    /**
     * Continues from a given complete checkpoint.
     *
     * @param checkpoint a {@code checkpoint-<step>} directory
     * @return the result; its losses are those of the steps run by this call
     * @throws IOException when reading or writing fails
     * @throws IllegalStateException when the checkpoint is incomplete or does not fit
     */
    public TrainingResult resume(Path checkpoint) throws IOException {
        requireOutputDir();
        if (!Files.isRegularFile(checkpoint.resolve(Checkpoints.COMPLETE_MARKER))) {
            throw new IllegalStateException("checkpoint " + checkpoint + " is incomplete (no "
                    + Checkpoints.COMPLETE_MARKER + " marker)");
        }
        return run(checkpoint);
    }

    private void requireOutputDir() {
        if (!config.writesToDisk()) {
            throw new IllegalStateException("resume needs an output directory with checkpoints; this configuration"
                    + " has none (TrainingConfig.optOutputDir)");
        }
    }

    private TrainingResult run(Path resumeFrom) throws IOException {
        stopRequested = false;
        Map<String, Parameter> trainable = trainableParameters();
        int batchesPerEpoch = sampler.batchCount();
        if (batchesPerEpoch <= 0) {
            throw new IllegalStateException("the batch sampler yields no batches: " + sampler);
        }
        int accumulation = config.gradientAccumulation();
        long stepsPerEpoch = (batchesPerEpoch + accumulation - 1) / accumulation;
        long total = config.maxSteps() > 0 ? config.maxSteps() : config.epochs() * stepsPerEpoch;
        LrSchedule schedule = new LrSchedule(config.schedule(), config.warmupSteps(total), total);
        Checkpoints checkpoints = config.writesToDisk() ? new Checkpoints(config.checkpointsDir()) : null;
        Device device = trainable.values().iterator().next().getArray().getDevice();

        try (NDManager root = NDManager.newBaseManager(device);
                OptimizerState optState = new OptimizerState(config.optimizer(), root)) {
            Loop loop = new Loop(trainable, schedule, stepsPerEpoch, batchesPerEpoch, checkpoints, root, optState);
            if (resumeFrom != null) {
                loop.restore(resumeFrom);
            }
            if (checkpoints != null) {
                checkpoints.deleteLeftovers();
                Checkpoints.deleteLeftovers(config.outputDir(), TrainingConfig.BEST_DIR + ".tmp-");
            }
            return loop.run(resumeFrom != null);
        } finally {
            DropoutStream.clear(); // later dropout on this thread draws from the engine again
        }
    }

    private Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            Parameter p = e.getValue();
            if (!p.isInitialized()) {
                throw new IllegalStateException("parameter '" + e.getKey()
                        + "' has no array: initialize or load the model before training");
            }
            if (p.requiresGradient()) {
                if (p.getArray().getDataType() != DataType.FLOAT32) {
                    throw new IllegalStateException("trainable parameter '" + e.getKey() + "' is "
                            + p.getArray().getDataType() + "; trainable parameters must be float32");
                }
                out.put(e.getKey(), p);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("the model has no trainable parameters (all are frozen)");
        }
        return out;
    }

    /** The state of one call of train/resume. */
    private final class Loop {
        private final Map<String, Parameter> trainable;
        private final LrSchedule schedule;
        private final long stepsPerEpoch;
        private final int batchesPerEpoch;
        private final Checkpoints checkpoints;
        private final NDManager root;
        private final OptimizerState optState;
        private final ParameterStore ps;
        private final List<LayerStack> stacks = GradientCheckpointing.stacks(model);
        private final SortedMap<Long, Double> losses = new TreeMap<>();
        private final int accumulation = config.gradientAccumulation();
        private final long seed = config.seed();

        private long step;
        private double elapsedBefore;
        private long startNanos;
        private Double best;
        private long bestStep;
        private Path bestDir;
        private Map<String, Double> lastMetrics = Map.of();
        private Path lastCheckpoint;
        private long lastCheckpointStep = -1;
        private int cachedEpoch = -1;
        private List<List<Integer>> cachedBatches;

        Loop(Map<String, Parameter> trainable, LrSchedule schedule, long stepsPerEpoch, int batchesPerEpoch,
                Checkpoints checkpoints, NDManager root, OptimizerState optState) throws IOException {
            this.trainable = trainable;
            this.schedule = schedule;
            this.stepsPerEpoch = stepsPerEpoch;
            this.batchesPerEpoch = batchesPerEpoch;
            this.checkpoints = checkpoints;
            this.root = root;
            this.optState = optState;
            this.ps = new ParameterStore(root, false);
            this.lastCheckpoint = checkpoints == null ? null : checkpoints.latest().orElse(null);
        }

        void restore(Path dir) throws IOException {
            TrainerState s = TrainerState.read(dir.resolve(TrainerState.FILE_NAME));
            require(s.totalSteps() == schedule.totalSteps(), dir, "was written for a run of " + s.totalSteps()
                    + " steps, this configuration has " + schedule.totalSteps());
            require(s.gradientAccumulation() == accumulation, dir, "used gradient accumulation "
                    + s.gradientAccumulation() + ", this configuration " + accumulation);
            require(s.seed() == seed, dir, "used seed " + s.seed() + ", this configuration " + seed);
            require(s.optimizer().equals(config.optimizer().name()), dir, "used optimizer '" + s.optimizer()
                    + "', this configuration '" + config.optimizer().name() + "'");
            require(s.dataOrder().batchesPerEpoch() == batchesPerEpoch, dir, "had "
                    + s.dataOrder().batchesPerEpoch() + " batches per epoch, the sampler now has " + batchesPerEpoch
                    + ": the dataset or the sampler changed");
            String fingerprint = BatchSampler.fingerprint(batches(s.epoch()));
            require(fingerprint.equals(s.dataOrder().epochFingerprint()), dir, "has data order "
                    + s.dataOrder().epochFingerprint() + " for epoch " + s.epoch() + ", the sampler now gives "
                    + fingerprint + ": the dataset or the sampler changed");
            checkpointIo.load(dir.resolve(WEIGHTS_DIR));
            optState.load(dir.resolve(OPTIMIZER_FILE));
            step = s.step();
            elapsedBefore = s.elapsedSeconds();
            best = s.bestMetric();
            bestStep = s.bestStep();
            Path bestPath = config.outputDir().resolve(TrainingConfig.BEST_DIR);
            bestDir = best != null && Files.isDirectory(bestPath) ? bestPath : null;
            lastCheckpoint = dir;
            lastCheckpointStep = step;
            LOG.info("resuming from {} at step {} of {}", dir, step, schedule.totalSteps());
        }

        private void require(boolean ok, Path dir, String message) {
            if (!ok) {
                throw new IllegalStateException("checkpoint " + dir + " " + message);
            }
        }

        TrainingResult run(boolean resumed) throws IOException {
            long total = schedule.totalSteps();
            Path metricsFile = null;
            if (config.writesToDisk()) {
                metricsFile = config.outputDir().resolve(TrainingConfig.METRICS_FILE);
                Files.createDirectories(config.outputDir());
            }
            boolean stopped = false;
            try (MetricsLog log = new MetricsLog(metricsFile, resumed ? step : -1);
                    ProgressReporter progress = ProgressReporter.create(config.progressBar(), step, total,
                            Duration.ofMillis((long) (elapsedBefore * 1000)))) {
                LOG.info("training {} trainable parameters ({} tensors) for {} steps with {}",
                        model.trainableParameterCount(), trainable.size(), total, config.optimizer());
                startNanos = System.nanoTime();
                while (step < total) {
                    if (stopRequested) {
                        stopped = true;
                        break;
                    }
                    StepMetrics m = trainOneStep();
                    step = m.step();
                    losses.put(step, m.loss());
                    log.train(m);
                    progress.step(step, progressMessage(m));
                    for (StepListener l : listeners) {
                        l.onStep(m);
                    }
                    boolean epochEnd = step % stepsPerEpoch == 0 || step == total;
                    boolean evalNow = evaluator != null
                            && (epochEnd || config.evalEvery() > 0 && step % config.evalEvery() == 0);
                    if (evalNow) {
                        evaluate(log);
                    }
                    if (epochEnd || config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0) {
                        saveCheckpoint();
                    }
                    if (evalNow) {
                        drawCurve(log);
                    }
                }
                if (step != lastCheckpointStep) {
                    saveCheckpoint();
                }
                drawCurve(log);
            }
            return new TrainingResult(step, Collections.unmodifiableSortedMap(losses), lastMetrics,
                    config.bestMetric(), best, bestStep, bestDir, checkpoints == null ? null : checkpoints.root(),
                    lastCheckpoint, stopped);
        }

        private StepMetrics trainOneStep() {
            long stepNo = step + 1;
            int epoch = (int) (step / stepsPerEpoch);
            int first = (int) (step % stepsPerEpoch) * accumulation;
            List<List<Integer>> micro = batches(epoch).subList(first, Math.min(first + accumulation, batchesPerEpoch));
            long t0 = System.nanoTime();
            double lossSum = 0;
            long examples = 0;
            long tokens = 0;
            double gradNorm;
            double lr = schedule.learningRate(config.learningRate(), stepNo);
            try (NDScope scope = new NDScope();
                    NDManager sm = root.newSubManager()) {
                scope.suppressNotUsedWarning();
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    for (int i = 0; i < micro.size(); i++) {
                        StepRandom.seedEngine(seed, stepNo, i);
                        List<Integer> ids = micro.get(i);
                        StepOutput out = trainStep.compute(ps, sm, ids, true);
                        double loss = out.lossValue();
                        if (!Double.isFinite(loss)) {
                            throw new TrainingDivergedException(stepNo, "loss", loss, lastCheckpoint);
                        }
                        lossSum += loss;
                        examples += ids.size();
                        tokens += out.tokens();
                        gc.backward(Scalars.div(out.loss(), micro.size()));
                        GradientCheckpointing.backward(stacks);
                    }
                }
                Map<String, NDArray> grads = new LinkedHashMap<>();
                for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                    NDArray g = e.getValue().getArray().getGradient();
                    g.attach(sm);
                    grads.put(e.getKey(), g);
                }
                gradNorm = config.maxGradNorm() > 0
                        ? GradientClipping.clip(grads.values(), config.maxGradNorm())
                        : GradientClipping.globalNorm(grads.values());
                if (!Double.isFinite(gradNorm)) {
                    throw new TrainingDivergedException(stepNo, "gradient norm", gradNorm, lastCheckpoint);
                }
                optState.beginStep();
                for (Map.Entry<String, NDArray> e : grads.entrySet()) {
                    config.optimizer().update(e.getKey(), trainable.get(e.getKey()).getArray(), e.getValue(), lr,
                            optState);
                }
            } finally {
                stacks.forEach(LayerStack::discard);
                for (Parameter p : trainable.values()) {
                    Gradients.zero(p.getArray());
                }
            }
            double seconds = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
            return new StepMetrics(stepNo, (double) stepNo / stepsPerEpoch, lossSum / micro.size(), lr, gradNorm,
                    examples, tokens, elapsed(), examples / seconds, tokens / seconds);
        }

        private List<List<Integer>> batches(int epoch) {
            if (epoch != cachedEpoch) {
                List<List<Integer>> b = sampler.batches(seed, epoch);
                if (b.size() != batchesPerEpoch) {
                    throw new IllegalStateException("the batch sampler gave " + b.size() + " batches for epoch "
                            + epoch + " but reports batchCount() " + batchesPerEpoch);
                }
                cachedBatches = b;
                cachedEpoch = epoch;
            }
            return cachedBatches;
        }

        private void evaluate(MetricsLog log) throws IOException {
            Map<String, Double> metrics = new LinkedHashMap<>();
            try (NDScope scope = new NDScope();
                    NDManager em = root.newSubManager()) {
                scope.suppressNotUsedWarning();
                evaluator.evaluate(ps, em).forEach((k, v) -> metrics.put(MetricsLog.evalName(k), v));
            }
            lastMetrics = Collections.unmodifiableMap(metrics);
            log.eval(step, (double) step / stepsPerEpoch, elapsed(), metrics);
            for (StepListener l : listeners) {
                l.onEvaluation(step, lastMetrics);
            }
            Double value = metrics.get(config.bestMetric());
            if (value == null) {
                throw new IllegalStateException("the evaluator returned no '" + config.bestMetric()
                        + "' (the best metric); it returned " + metrics.keySet());
            }
            boolean better = best == null
                    || (config.higherIsBetter() ? value > best : value < best);
            if (better && Double.isFinite(value)) {
                best = value;
                bestStep = step;
                if (config.writesToDisk()) {
                    bestDir = config.outputDir().resolve(TrainingConfig.BEST_DIR);
                    Checkpoints.replaceDirectory(bestDir, bestSaver::save);
                }
                LOG.info("step {}: new best {} = {}", step, config.bestMetric(), value);
            }
        }

        private void saveCheckpoint() throws IOException {
            if (checkpoints == null) {
                return;
            }
            int epoch = (int) (step / stepsPerEpoch);
            TrainerState state = new TrainerState(TrainerState.FORMAT_VERSION, step, epoch,
                    (int) (step % stepsPerEpoch) * accumulation, schedule.totalSteps(), seed,
                    new TrainerState.DataOrder(sampler.toString(), batchesPerEpoch,
                            BatchSampler.fingerprint(batches(epoch))),
                    new TrainerState.Schedule(schedule.type(), schedule.warmupSteps(), schedule.totalSteps(),
                            config.learningRate()),
                    config.optimizer().name(), accumulation, config.bestMetric(), best, bestStep, elapsed());
            lastCheckpoint = checkpoints.write(step, dir -> {
                Path weights = Files.createDirectory(dir.resolve(WEIGHTS_DIR));
                checkpointIo.save(weights);
                optState.save(dir.resolve(OPTIMIZER_FILE));
                state.write(dir.resolve(TrainerState.FILE_NAME));
            });
            lastCheckpointStep = step;
            checkpoints.prune(config.keepCheckpoints());
            LOG.debug("wrote {}", lastCheckpoint);
        }

        private void drawCurve(MetricsLog log) throws IOException {
            if (config.trainingCurve() && config.writesToDisk()) {
                TrainingCurve.write(config.outputDir().resolve(TrainingConfig.CURVE_FILE), log.losses(), log.evals());
            }
        }

        private double elapsed() {
            return elapsedBefore + (System.nanoTime() - startNanos) / 1e9;
        }
    }

    private static String progressMessage(StepMetrics m) {
        String s = String.format("loss %.4f lr %.2e %.1f ex/s", m.loss(), m.learningRate(), m.examplesPerSecond());
        return m.tokens() > 0 ? s + String.format(" %.0f tok/s", m.tokensPerSecond()) : s;
    }

    /** Builder of {@link AdapterTrainer}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private Module model;
        private TrainingConfig config;
        private BatchSampler sampler;
        private TrainStep trainStep;
        private Evaluator evaluator;
        private CheckpointIo checkpointIo;
        private AdapterSaver bestSaver;
        private final List<StepListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param model the model; its parameters must have arrays, trainable ones float32
         * @return this builder
         */
        public Builder setModel(Module model) {
            this.model = model;
            return this;
        }

        /**
         * @param config the run configuration
         * @return this builder
         */
        public Builder setConfig(TrainingConfig config) {
            this.config = config;
            return this;
        }

        /**
         * @param sampler the training batches of every epoch
         * @return this builder
         */
        public Builder setBatchSampler(BatchSampler sampler) {
            this.sampler = sampler;
            return this;
        }

        /**
         * @param trainStep computes a micro-batch's loss
         * @return this builder
         */
        public Builder setTrainStep(TrainStep trainStep) {
            this.trainStep = trainStep;
            return this;
        }

        /**
         * @param evaluator computes evaluation metrics (default: none, no evaluation)
         * @return this builder
         */
        public Builder optEvaluator(Evaluator evaluator) {
            this.evaluator = evaluator;
            return this;
        }

        /**
         * @param checkpointIo saves and loads the trained weights (default {@link
         *     TrainableParametersIo})
         * @return this builder
         */
        public Builder optCheckpointIo(CheckpointIo checkpointIo) {
            this.checkpointIo = checkpointIo;
            return this;
        }

        /**
         * @param bestSaver writes the best weights into {@code best/} (default: the checkpoint
         *     I/O's {@code save}); pass the PEFT model's {@code save} so that {@code best/} is an
         *     adapter directory that PEFT and {@code --adapter} load
         * @return this builder
         */
        public Builder optBestSaver(AdapterSaver bestSaver) {
            this.bestSaver = bestSaver;
            return this;
        }

        /**
         * @param listener observes steps and evaluations; may be added several times
         * @return this builder
         */
        public Builder addListener(StepListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * @return the trainer
         * @throws NullPointerException naming the missing required field
         */
        public AdapterTrainer build() {
            Objects.requireNonNull(model, "model is required (setModel)");
            Objects.requireNonNull(config, "config is required (setConfig)");
            Objects.requireNonNull(sampler, "batch sampler is required (setBatchSampler)");
            Objects.requireNonNull(trainStep, "train step is required (setTrainStep)");
            return new AdapterTrainer(this);
        }
    }
}
