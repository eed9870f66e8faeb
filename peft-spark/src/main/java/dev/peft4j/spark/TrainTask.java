package dev.peft4j.spark;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.task.ClassificationTask;
import dev.peft4j.core.train.Checkpoints;
import dev.peft4j.core.train.OptimizerState;
import dev.peft4j.core.train.TrainStep;
import dev.peft4j.core.train.TrainableParametersIo;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * The body of one barrier task: reads its partition, borrows the executor's cached frozen base
 * ({@link ExecutorModels#borrow}), adapts it with the run's seed, trains with {@link
 * DataParallelLoop}, writes checkpoints (rank 0), gives the base back restored ({@link
 * BaseSnapshot}) and returns its output (rank 0: with the adapter).
 *
 * @param <M> the base model's type
 */
final class TrainTask<M extends Module> implements FlatMapFunction<Iterator<Row>, TrainOutput> {

    private static final long serialVersionUID = 1L;

    /**
     * Where the training task gets its collective (a test's; without one: the barrier task's of
     * {@link DataParallelArguments#transport()}).
     */
    @FunctionalInterface
    interface CollectiveFactory extends Serializable {
        /** @return the collective of the running task */
        Collective create();
    }

    /** {@link DataParallelLoop.StepObserver}, serializable. */
    @FunctionalInterface
    interface Observer extends DataParallelLoop.StepObserver, Serializable {
    }

    static final String WEIGHTS_DIR = "adapter";
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    static final String WORLD_FILE = "world_size";

    private final TrainObjective<M> objective;
    private final ConfigBytes config;
    private final DataParallelArguments args;
    private final String checkpointDir;
    private final CollectiveFactory collectives;
    private final Observer observer;

    TrainTask(TrainObjective<M> objective, ConfigBytes config, DataParallelArguments args, String checkpointDir,
            CollectiveFactory collectives, Observer observer) {
        this.objective = objective;
        this.config = config;
        this.args = args;
        this.checkpointDir = checkpointDir;
        this.collectives = collectives;
        this.observer = observer;
    }

    @Override
    public Iterator<TrainOutput> call(Iterator<Row> rows) throws Exception {
        ThreadBackward.noGradOnThisThread();
        Collective collective = collectives != null ? collectives.create()
                : args.transport().current(args.transportTimeout());
        try {
            return call(rows, collective);
        } catch (Exception | Error e) {
            collective.abort(e); // the peers report this error, not only a closed connection
            throw e;
        } finally {
            collective.close();
        }
    }

    private Iterator<TrainOutput> call(Iterator<Row> rows, Collective collective) throws Exception {
        List<Row> local = new ArrayList<>();
        rows.forEachRemaining(local::add);
        M base = ExecutorModels.borrow(objective.source());
        boolean reusable = false;
        try (NDManager manager = NDManager.newBaseManager()) {
            BaseSnapshot snapshot = BaseSnapshot.of(base);
            PeftModel<M> peft = PeftModel.wrap(base, config.read(), manager, args.seed());
            snapshot.protectTrainedInPlace(manager);
            TrainStep step = local.isEmpty() ? (ps, m, ids, t) -> {
                throw new IllegalStateException("an empty partition has no batch");
            } : objective.step(base, local);
            DataParallelLoop loop = new DataParallelLoop(peft, step, local.size(), collective, args,
                    objective.normalization());
            TrainOutput out = train(peft, loop, collective, manager, local.size());
            peft.unload();
            reusable = snapshot.restore(base);
            return List.of(out).iterator();
        } finally {
            if (reusable) {
                ExecutorModels.giveBack(objective.source(), base);
            } else {
                close(base); // failed, or the method changed the base beyond restoring: never reused
            }
        }
    }

    /**
     * @param base the (adapted) classifier, with the tokenizer it was loaded with
     * @param rows the examples
     * @param labels label names by class index
     * @return the mean cross-entropy of a batch of {@code rows}' indices
     * @throws IOException when a row is bad
     */
    static TrainStep trainStep(BertForSequenceClassification base, List<LabeledText> rows, List<String> labels)
            throws IOException {
        ClassificationDataset data = ClassificationDataset.builder()
                .setTokenizer(base.tokenizer().orElseThrow(() -> new IllegalStateException(
                        "the base model has no tokenizer.json")))
                .optLabels(LabelSet.of(labels)).setRecords(rows).build();
        return ClassificationTask.trainStep(data, (ps, b, training) ->
                base.forward(ps, b.inputIds(), b.attentionMask(), b.tokenTypeIds(), training));
    }

    private static void close(Module base) throws Exception {
        if (base instanceof AutoCloseable c) {
            c.close();
        }
    }

    private TrainOutput train(PeftModel<?> peft, DataParallelLoop loop, Collective collective, NDManager manager,
            int examples) throws IOException {
        TrainableParametersIo weights = new TrainableParametersIo(peft);
        Checkpoints checkpoints = checkpointDir == null ? null : new Checkpoints(Paths.get(checkpointDir));
        try (NDManager root = manager.newSubManager();
                OptimizerState state = new OptimizerState(args.optimizer(), root)) {
            long start = 0;
            Optional<Path> latest = checkpoints == null ? Optional.empty() : checkpoints.latest();
            if (latest.isPresent()) {
                start = restore(latest.get(), weights, state, collective.worldSize());
            }
            DataParallelLoop.Checkpointer checkpointer = (s, total) -> {
                boolean due = s == total || args.checkpointEvery() > 0 && s % args.checkpointEvery() == 0;
                if (checkpoints != null && collective.rank() == 0 && due) {
                    checkpoints.write(s, dir -> {
                        weights.save(Files.createDirectory(dir.resolve(WEIGHTS_DIR)));
                        state.save(dir.resolve(OPTIMIZER_FILE));
                        Files.writeString(dir.resolve(WORLD_FILE), Integer.toString(collective.worldSize()));
                    });
                    checkpoints.prune(1);
                }
            };
            double[] losses = loop.run(start, state, root, checkpointer, observer);
            AdapterBytes adapter = null;
            if (collective.rank() == 0) {
                Path dir = Files.createTempDirectory("peft4j-adapter-");
                try {
                    Path a = dir.resolve("adapter");
                    peft.save(a);
                    adapter = AdapterBytes.read(a);
                } finally {
                    Dirs.deleteQuietly(dir);
                }
            }
            return new TrainOutput(collective.rank(), adapter, start, losses, examples, loop.stepNanos() / 1e9,
                    loop.collectiveNanos() / 1e9, loop.parameterCount());
        }
    }

    private static long restore(Path dir, TrainableParametersIo weights, OptimizerState state, int worldSize)
            throws IOException {
        int saved = Integer.parseInt(Files.readString(dir.resolve(WORLD_FILE)).trim());
        if (saved != worldSize) {
            throw new IllegalStateException("checkpoint " + dir + " was written by " + saved
                    + " workers, this run has " + worldSize + ": resume with the same number of workers");
        }
        weights.load(dir.resolve(WEIGHTS_DIR));
        state.load(dir.resolve(OPTIMIZER_FILE));
        return Checkpoints.stepOf(dir);
    }
}
