package dev.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.nn.DropoutStream;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.task.ClassificationTask;
import dev.peft4j.core.task.SequenceClassifier;
import dev.peft4j.core.text.TextTokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Two same-seed training loops on two threads of one JVM at once (peft-spark's ranks in {@code
 * local[2]} or on an executor with several cores) give bit for bit the losses and weights of a
 * loop alone: the dropout masks come from each thread's own {@link DropoutStream} keyed by {@link
 * StepRandom#seedEngine}, not from the engine's process-global generator they would race on.
 *
 * <p>The loop is the ranks' (DJL's gradient collector is one per JVM, so {@link AdapterTrainer}
 * itself cannot run on two threads at once): grad mode switched on this thread only, {@code
 * seedEngine} before the forward pass, backward, plain SGD on the host.
 */
class ConcurrentTrainingTest {

    private static final int STEPS = 40;
    private static final long SEED = 5;

    /** A loop's losses by step and its trainable weights by path. */
    private record Run(Map<Long, Double> losses, Map<String, float[]> weights) {}

    /** Trains {@code model} {@link #STEPS} steps of one micro-batch on the calling thread. */
    private static Run train(Module model, TrainStep step, int examples, int batchSize) {
        JniUtils.setGradMode(false); // libtorch starts every new thread recording
        Map<String, Parameter> trainable = new LinkedHashMap<>();
        model.namedParameters().forEach((k, p) -> {
            if (p.requiresGradient()) {
                trainable.put(k, p);
            }
        });
        Map<Long, Double> losses = new TreeMap<>();
        RandomBatchSampler sampler = new RandomBatchSampler(examples, batchSize, true, false);
        try (NDManager root = NDManager.newBaseManager()) {
            ParameterStore ps = new ParameterStore(root, false);
            for (long s = 1; s <= STEPS; s++) {
                List<List<Integer>> epoch = sampler.batches(SEED, (int) ((s - 1) / sampler.batchCount()));
                StepRandom.seedEngine(SEED, s, 0);
                try (NDScope scope = new NDScope();
                        NDManager sm = root.newSubManager()) {
                    scope.suppressNotUsedWarning();
                    JniUtils.setGradMode(true);
                    StepOutput out = step.compute(ps, sm, epoch.get((int) ((s - 1) % sampler.batchCount())), true);
                    losses.put(s, out.lossValue());
                    NDArray ones = sm.ones(out.loss().getShape());
                    JniUtils.backward((PtNDArray) out.loss(), (PtNDArray) ones, false, false);
                    JniUtils.setGradMode(false);
                    for (Parameter p : trainable.values()) {
                        NDArray w = p.getArray();
                        NDArray g = w.getGradient();
                        g.attach(sm);
                        float[] wv = w.toFloatArray();
                        float[] gv = g.toFloatArray();
                        for (int i = 0; i < wv.length; i++) {
                            wv[i] -= 0.05f * gv[i];
                        }
                        w.set(wv);
                        Gradients.zero(w);
                    }
                }
            }
        } finally {
            JniUtils.setGradMode(false);
            DropoutStream.clear();
        }
        Map<String, float[]> weights = new LinkedHashMap<>();
        trainable.forEach((k, p) -> weights.put(k, p.getArray().toFloatArray()));
        return new Run(losses, weights);
    }

    /** Runs {@code job} alone on a new thread, then twice at once on two, started together. */
    private static List<Run> aloneThenTogether(Callable<Run> job) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Run alone = pool.submit(job).get();
            CyclicBarrier start = new CyclicBarrier(2);
            List<Future<Run>> futures = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    return job.call();
                }));
            }
            return List.of(alone, futures.get(0).get(), futures.get(1).get());
        } finally {
            pool.shutdownNow();
        }
    }

    private static void assertSameRuns(List<Run> runs) {
        Run alone = runs.get(0);
        assertEquals(STEPS, alone.losses().size());
        assertNotEquals(alone.losses().get(1L), alone.losses().get(2L), "the batches differ");
        for (int t = 1; t < runs.size(); t++) {
            Run other = runs.get(t);
            assertEquals(alone.losses(), other.losses(), "thread " + t + ": losses");
            assertEquals(alone.weights().keySet(), other.weights().keySet());
            for (String p : alone.weights().keySet()) {
                assertArrayEquals(alone.weights().get(p), other.weights().get(p), "thread " + t + ": " + p);
            }
        }
    }

    private static final TinyRegression DATA = new TinyRegression(40);

    /** The MLP with dropout 0.3 ({@code Dropout}, host masks), its weights fixed by seeds. */
    @Test
    void twoThreadsTrainingTheMlpGiveTheLossesOfOne() throws Exception {
        assertSameRuns(aloneThenTogether(() -> {
            try (NDManager m = NDManager.newBaseManager()) {
                TinyRegression.Mlp model = TinyRegression.model(m, 0.3);
                return train(model, DATA.step(model), 40, 4);
            }
        }));
        assertFalse(DropoutStream.isSeeded(), "this thread's stream was never keyed");
    }

    /**
     * The one-layer BERT classifier (embedding, attention, hidden and classifier dropout 0.1;
     * {@code LayerSeeds} draws a pass seed and re-keys the stream at the layer), same initial
     * weights on every thread.
     */
    @Test
    void twoThreadsTrainingBertGiveTheLossesOfOne() throws Exception {
        Map<String, float[]> initial;
        try (NDManager m = NDManager.newBaseManager()) {
            initial = TinyClassifier.snapshot(TinyClassifier.create(m));
        }
        Function<BertForSequenceClassification, SequenceClassifier> classifier = model -> (ps, b, training) ->
                model.forward(ps, b.inputIds(), b.attentionMask(), b.tokenTypeIds(), training);
        assertSameRuns(aloneThenTogether(() -> {
            try (NDManager m = NDManager.newBaseManager();
                    TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
                BertForSequenceClassification model = TinyClassifier.create(m);
                TinyClassifier.restore(model, initial);
                ClassificationDataset data = ClassificationDataset.builder().setRecords(TinyClassifier.TRAIN)
                        .setTokenizer(tokenizer).build();
                return train(model, ClassificationTask.trainStep(data, classifier.apply(model)), data.size(), 2);
            }
        }));
    }
}
