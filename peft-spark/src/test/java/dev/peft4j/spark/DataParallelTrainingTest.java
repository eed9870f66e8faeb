package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.nn.DropoutStream;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.AdapterTrainer;
import dev.peft4j.core.train.BatchSampler;
import dev.peft4j.core.train.ScheduleType;
import dev.peft4j.core.train.Sgd;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.TrainStep;
import dev.peft4j.core.train.TrainingConfig;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Data-parallel training over a {@code local[2]} barrier stage equals single-process training on
 * the concatenated batches: gradients, SGD trajectories; uneven and empty partitions; failures.
 */
class DataParallelTrainingTest {

    private static final long SEED = 5;
    private static final double LR = 0.5;
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TempDir static Path tmp;

    /** Steps seen by the observer, as rank:step (tasks are threads of this JVM in local mode). */
    private static final List<String> STEPS = Collections.synchronizedList(new ArrayList<>());

    private static SparkSession spark;
    private static ModelSource<BertForSequenceClassification> source;

    @BeforeAll
    static void start() throws IOException {
        spark = LocalSpark.start("local[2]", 1, 10);
        source = TinyModel.save(tmp.resolve("tiny"));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** Each rank's reduced gradient of its whole partition (one step, no update). */
    private static final class GradientTask implements FlatMapFunction<Iterator<Row>, float[]> {
        private final ModelSource<BertForSequenceClassification> source;
        private final ConfigBytes config = ConfigBytes.of(TinyModel.lora());
        private final boolean reduce;
        private final Transport transport;

        GradientTask(ModelSource<BertForSequenceClassification> source, boolean reduce, Transport transport) {
            this.source = source;
            this.reduce = reduce;
            this.transport = transport;
        }

        @Override
        public Iterator<float[]> call(Iterator<Row> rows) throws Exception {
            List<LabeledText> local = new ArrayList<>();
            rows.forEachRemaining(r -> local.add(new LabeledText(r.getString(0), r.getString(1))));
            try (Collective t = transport.current(TIMEOUT);
                    Collective c = reduce ? t : new NoReduce(t);
                    BertForSequenceClassification base = source.load();
                    NDManager m = NDManager.newBaseManager()) {
                PeftModel<?> peft = PeftModel.wrap(base, config.read(), m, SEED);
                DataParallelLoop loop = new DataParallelLoop(peft, TrainTask.trainStep(base, local, TinyModel.LABELS),
                        local.size(), c, sgd(1, 0));
                List<Integer> ids = IntStream.range(0, local.size()).boxed().toList();
                float[] reduced = loop.reduce(List.of(ids), 1, new ParameterStore(m, false), m);
                float[] g = new float[loop.parameterCount()];
                for (int i = 0; i < g.length; i++) {
                    g[i] = reduced[i] / reduced[g.length];
                }
                return List.of(g).iterator();
            }
        }
    }

    /**
     * Each rank's own (not reduced) gradients over 10 steps of 4 one-example micro-batches with
     * LoRA dropout 0.3: every micro-batch seeds dropout, while the other rank's thread does too.
     */
    private static final class DropoutGradientTask implements FlatMapFunction<Iterator<Row>, float[]> {
        private final ModelSource<BertForSequenceClassification> source;
        private final ConfigBytes config = ConfigBytes.of(TinyModel.lora(0.3));

        DropoutGradientTask(ModelSource<BertForSequenceClassification> source) {
            this.source = source;
        }

        @Override
        public Iterator<float[]> call(Iterator<Row> rows) throws Exception {
            Collective c = new NoReduce(BarrierCollective.current());
            List<LabeledText> local = new ArrayList<>();
            rows.forEachRemaining(r -> local.add(new LabeledText(r.getString(0), r.getString(1))));
            try (BertForSequenceClassification base = source.load();
                    NDManager m = NDManager.newBaseManager()) {
                PeftModel<?> peft = PeftModel.wrap(base, config.read(), m, SEED);
                DataParallelLoop loop = new DataParallelLoop(peft, TrainTask.trainStep(base, local, TinyModel.LABELS),
                        local.size(), c, sgd(1, 0));
                List<List<Integer>> micro = IntStream.range(0, local.size()).mapToObj(List::of).toList();
                float[] all = new float[10 * (loop.parameterCount() + 2)];
                for (int s = 1; s <= 10; s++) {
                    float[] reduced = loop.reduce(micro, s, new ParameterStore(m, false), m);
                    System.arraycopy(reduced, 0, all, (s - 1) * reduced.length, reduced.length);
                }
                return List.of(all).iterator();
            } finally {
                DropoutStream.clear(); // reduce() alone leaves the pooled task thread keyed
            }
        }
    }

    /**
     * Ranks that are threads of one JVM each draw their dropout masks from their own thread's
     * stream: two same-seed runs give bit-identical per-rank gradients (they raced on PyTorch's
     * process-wide generator before).
     */
    @Test
    void ranksOnThreadsOfOneJvmHaveReproducibleDropout() {
        List<List<float[]>> runs = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            runs.add(TinyModel.frame(spark, TinyModel.ROWS, 2).rdd().barrier()
                    .mapPartitions(new PartitionFunction<>(new DropoutGradientTask(source)), false,
                            ClassTag$.MODULE$.apply(float[].class))
                    .toJavaRDD().collect());
        }
        for (int rank = 0; rank < 2; rank++) {
            assertArrayEquals(runs.get(0).get(rank), runs.get(1).get(rank), "rank " + rank);
        }
        assertTrue(!java.util.Arrays.equals(runs.get(0).get(0), runs.get(0).get(1)), "the ranks' data differ");
    }

    /** The tiny model with an unseeded random head, as a base encoder gets a fresh one. */
    private record FreshHead(ModelSource<BertForSequenceClassification> inner)
            implements ModelSource<BertForSequenceClassification> {
        @Override
        public String key() {
            return "fresh-head|" + inner.key();
        }

        @Override
        public BertForSequenceClassification load() throws IOException {
            BertForSequenceClassification m = inner.load();
            java.util.Random random = new java.util.Random();
            m.namedParameters().forEach((k, p) -> {
                if (k.startsWith("classifier.")) {
                    float[] v = new float[Math.toIntExact(p.getArray().size())];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) random.nextGaussian() * 0.02f;
                    }
                    p.getArray().set(v);
                }
            });
            return m;
        }
    }

    /** Each rank's trainable weights after (or without) the broadcast from rank 0. */
    private static final class WeightsTask implements FlatMapFunction<Iterator<Row>, float[]> {
        private final ModelSource<BertForSequenceClassification> source;
        private final ConfigBytes config = ConfigBytes.of(TinyModel.lora());
        private final boolean broadcast;

        WeightsTask(ModelSource<BertForSequenceClassification> source, boolean broadcast) {
            this.source = source;
            this.broadcast = broadcast;
        }

        @Override
        public Iterator<float[]> call(Iterator<Row> rows) throws Exception {
            Collective c = BarrierCollective.current();
            try (BertForSequenceClassification base = source.load();
                    NDManager m = NDManager.newBaseManager()) {
                PeftModel<?> peft = PeftModel.wrap(base, config.read(), m, SEED);
                DataParallelLoop loop = new DataParallelLoop(peft, (ps, mm, ids, t) -> null, 0, c, sgd(1, 0));
                if (broadcast) {
                    loop.broadcastTrainableWeights();
                }
                List<Float> flat = new ArrayList<>();
                for (Parameter p : loop.trainable().values()) {
                    for (float v : p.getArray().toFloatArray()) {
                        flat.add(v);
                    }
                }
                float[] out = new float[flat.size()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = flat.get(i);
                }
                return List.of(out).iterator();
            }
        }
    }

    @Test
    void replicasStartFromRankZerosWeightsEvenWithAFreshRandomHead() {
        ModelSource<BertForSequenceClassification> fresh = new FreshHead(source);
        for (boolean broadcast : new boolean[] {false, true}) {
            List<float[]> w = TinyModel.frame(spark, TinyModel.ROWS, 2).rdd().barrier()
                    .mapPartitions(new PartitionFunction<>(new WeightsTask(fresh, broadcast)), false,
                            ClassTag$.MODULE$.apply(float[].class))
                    .toJavaRDD().collect();
            assertEquals(broadcast, java.util.Arrays.equals(w.get(0), w.get(1)), "broadcast " + broadcast);
        }
    }

    private static DataParallelArguments sgd(int epochs, long maxSteps) {
        return new DataParallelArguments(epochs, maxSteps, 2, LR, "sgd", 0, ScheduleType.CONSTANT, 0, 0, SEED, false,
                0);
    }

    private static List<float[]> dataParallelGradients(boolean reduce, Transport transport) {
        return TinyModel.frame(spark, TinyModel.ROWS, 2).rdd().barrier()
                .mapPartitions(new PartitionFunction<>(new GradientTask(source, reduce, transport)), false,
                        ClassTag$.MODULE$.apply(float[].class))
                .toJavaRDD().collect();
    }

    /** The gradient of the mean loss over all rows, in one process. */
    private static float[] singleProcessGradient() throws IOException {
        try (BertForSequenceClassification base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(base, TinyModel.lora(), m, SEED);
            TrainStep step = TrainTask.trainStep(base, TinyModel.ROWS, TinyModel.LABELS);
            List<Integer> ids = IntStream.range(0, TinyModel.ROWS.size()).boxed().toList();
            try (ThreadBackward gc = new ThreadBackward()) {
                StepOutput out = step.compute(new ParameterStore(m, false), m, ids, true);
                gc.backward(out.loss());
            }
            List<Float> flat = new ArrayList<>();
            for (Parameter p : peft.namedParameters().values()) {
                if (p.requiresGradient()) {
                    for (float v : p.getArray().getGradient().toFloatArray()) {
                        flat.add(v);
                    }
                }
            }
            float[] g = new float[flat.size()];
            for (int i = 0; i < g.length; i++) {
                g[i] = flat.get(i);
            }
            return g;
        }
    }

    private static double relativeError(float[] a, float[] b) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < a.length; i++) {
            diff += (a[i] - (double) b[i]) * (a[i] - (double) b[i]);
            norm += (double) b[i] * b[i];
        }
        return Math.sqrt(diff / norm);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void twoWayGradientsEqualSingleProcessGradientsOfTheConcatenatedBatch(Transport transport) throws IOException {
        float[] single = singleProcessGradient();
        List<float[]> dp = dataParallelGradients(true, transport);
        assertEquals(2, dp.size());
        assertEquals(single.length, dp.get(0).length);
        double err = relativeError(dp.get(0), single);
        assertTrue(err < 1e-5, "relative error " + err);
        assertTrue(Math.abs(single[0]) + Math.abs(single[single.length - 1]) > 0, "gradients are not all zero");
        assertArrayEquals(dp.get(0), dp.get(1)); // bit-identical on both ranks

        // negative control: without the all-reduce each rank has its own half's gradient
        List<float[]> alone = dataParallelGradients(false, transport);
        double errAlone = relativeError(alone.get(0), single);
        assertTrue(errAlone > 1e-2, "without the all-reduce the error is " + errAlone);
    }

    /** The global batch of step s: rank 0's rows then rank 1's (partitions of 4, batches of 2). */
    private static final class UnionSampler implements BatchSampler {
        @Override
        public List<List<Integer>> batches(long seed, int epoch) {
            return List.of(List.of(0, 1, 4, 5), List.of(2, 3, 6, 7));
        }

        @Override
        public int batchCount() {
            return 2;
        }
    }

    private static Map<String, float[]> singleProcessTrajectory(int steps) throws IOException {
        try (BertForSequenceClassification base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(base, TinyModel.lora(), m, SEED);
            AdapterTrainer.builder().setModel(peft)
                    .setConfig(TrainingConfig.builder().optMaxSteps(steps).optLearningRate(LR)
                            .optOptimizer(Sgd.builder().build()).optSchedule(ScheduleType.CONSTANT)
                            .optWarmupRatio(0).optMaxGradNorm(0).optSeed(SEED).optProgressBar(false)
                            .optTrainingCurve(false).build())
                    .setBatchSampler(new UnionSampler())
                    .setTrainStep(TrainTask.trainStep(base, TinyModel.ROWS, TinyModel.LABELS))
                    .build().train();
            return values(peft.adapterStateDict(PeftModel.DEFAULT_ADAPTER));
        }
    }

    private static Map<String, float[]> values(Map<String, NDArray> arrays) {
        return DataParallelTrainingTestSupport.values(arrays);
    }

    private static Map<String, float[]> savedAdapter(Path dir) throws IOException {
        return DataParallelTrainingTestSupport.savedAdapter(source, dir);
    }

    private static double maxDeviation(Map<String, float[]> a, Map<String, float[]> b) {
        return DataParallelTrainingTestSupport.maxDeviation(a, b);
    }

    private static SparkFineTuner.Builder tuner(DataParallelArguments args) {
        return SparkFineTuner.builder().setModel(source).setPeftConfig(TinyModel.lora()).optArguments(args);
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void sgdStepsFollowTheSingleProcessTrajectoryAndFailWithoutAllReduce(Transport transport) throws IOException {
        Map<String, float[]> single = singleProcessTrajectory(4);
        Path out = tmp.resolve("trajectory-" + transport);
        SparkTrainingResult r = tuner(sgd(2, 0).withTransport(transport)).build().fit(TinyModel.frame(spark, TinyModel.ROWS, 2),
                out.toString());
        assertEquals(4, r.finalStep());
        assertEquals(2, r.workers());
        assertEquals(8, r.examples());
        assertTrue(Files.isRegularFile(out.resolve("adapter_model.safetensors")));
        assertTrue(Files.readString(out.resolve("labels.json")).contains("\"good\""));
        double dev = maxDeviation(savedAdapter(out), single);
        assertTrue(dev < 1e-6, "deviation from the single-process trajectory " + dev);

        Path alone = tmp.resolve("alone-" + transport);
        tuner(sgd(2, 0)).collectives(() -> new NoReduce(transport.current(TIMEOUT))).build()
                .fit(TinyModel.frame(spark, TinyModel.ROWS, 2), alone.toString());
        double devAlone = maxDeviation(savedAdapter(alone), single);
        assertTrue(devAlone > 1e-3, "without the all-reduce the deviation is " + devAlone);
    }

    @Test
    void unevenAndEmptyPartitionsAgreeOnTheStepCount() throws IOException {
        // 5 rows in 2 slices: 2 and 3 rows, i.e. 1 and 2 batches of 2 -> 2 steps per epoch
        STEPS.clear();
        SparkTrainingResult r = tuner(sgd(2, 0)).observer((rank, step, loss) -> STEPS.add(rank + ":" + step)).build()
                .fit(TinyModel.frame(spark, TinyModel.ROWS.subList(0, 5), 2), tmp.resolve("uneven").toString());
        assertEquals(4, r.finalStep());
        assertEquals(5, r.examples());
        assertEquals(Set.of("0:1", "0:2", "0:3", "0:4", "1:1", "1:2", "1:3", "1:4"), Set.copyOf(STEPS));
        // 1 row in 2 slices: rank 0 has none and contributes zeros
        SparkTrainingResult one = tuner(sgd(1, 0)).build()
                .fit(TinyModel.frame(spark, TinyModel.ROWS.subList(0, 1), 2), tmp.resolve("one").toString());
        assertEquals(1, one.finalStep());
        assertEquals(2, one.workers());
    }

    /** Rank 1 throws after step {@code failStep} (0: right after connecting, before any all-reduce). */
    @ParameterizedTest
    @CsvSource({"BARRIER, 2", "TCP, 0", "TCP, 2"})
    void aThrowingTaskFailsTheJobWithoutHanging(Transport transport, int failStep) {
        String injected = "injected failure on rank 1 at step " + failStep;
        Path failed = tmp.resolve("failed-" + transport + failStep);
        SparkFineTuner.Builder b = tuner(sgd(2, 0).withTransport(transport).withTransportTimeout(TIMEOUT))
                .observer((rank, step, loss) -> {
                    if (rank == 1 && step == failStep) {
                        throw new IllegalStateException(injected);
                    }
                });
        if (failStep == 0) {
            b.collectives(() -> {
                Collective c = transport.current(TIMEOUT);
                if (c.rank() == 1) {
                    throw new IllegalStateException(injected);
                }
                return c;
            });
        }
        long t0 = System.nanoTime();
        Exception e = assertThrows(Exception.class, () -> org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                Duration.ofSeconds(60), () -> b.build().fit(TinyModel.frame(spark, TinyModel.ROWS, 2),
                        failed.toString())));
        assertTrue(String.valueOf(e.getMessage()).contains(injected), e.getMessage());
        // TCP: the failed rank's closed sockets fail the other at once, well within the transport
        // timeout; the barrier: Spark's stage abort (sync timeout 10 s here)
        long bound = transport == Transport.TCP ? TIMEOUT.toSeconds() : 60;
        assertTrue((System.nanoTime() - t0) / 1e9 < bound, "failed within " + bound + " s");
        assertTrue(!Files.exists(failed), "no partial output");
    }
}
