package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.AdapterTrainer;
import dev.peft4j.core.train.BatchSampler;
import dev.peft4j.core.train.ScheduleType;
import dev.peft4j.core.train.Sgd;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.TrainingConfig;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Gradient accumulation: each rank sums its micro-batches' gradients, one all-reduce per optimizer
 * step, the loss a mean over every example of every micro-batch of every rank; equal to one
 * process on the concatenated batch, also when ranks have different example counts.
 */
class GradientAccumulationTest {

    private static final long SEED = 5;
    private static final double LR = 0.5;

    @TempDir static Path tmp;

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

    private static DataParallelArguments sgd(int epochs, int batchSize, int accumulation) {
        return new DataParallelArguments(epochs, 0, batchSize, LR, "sgd", 0, ScheduleType.CONSTANT, 0, 0, SEED, false,
                0, accumulation);
    }

    /**
     * Rank r trains on rows {@code ROWS[assignment[r]]} (whatever its partition holds) and returns
     * the reduced vector of its first optimizer step (micro-batches of 2, 2 per step).
     */
    private static final class FirstStepTask implements FlatMapFunction<Iterator<Row>, float[]> {
        private final ModelSource<BertForSequenceClassification> source;
        private final ConfigBytes config = ConfigBytes.of(TinyModel.lora());
        private final List<List<Integer>> assignment;
        private final boolean reduce;

        FirstStepTask(ModelSource<BertForSequenceClassification> source, List<List<Integer>> assignment,
                boolean reduce) {
            this.source = source;
            this.assignment = assignment;
            this.reduce = reduce;
        }

        @Override
        public Iterator<float[]> call(Iterator<Row> rows) throws Exception {
            rows.forEachRemaining(r -> { });
            Collective c = reduce ? BarrierCollective.current() : new NoReduce(BarrierCollective.current());
            List<LabeledText> local = new ArrayList<>();
            for (int i : assignment.get(c.rank())) {
                local.add(TinyModel.ROWS.get(i));
            }
            try (BertForSequenceClassification base = source.load();
                    NDManager m = NDManager.newBaseManager()) {
                PeftModel<?> peft = PeftModel.wrap(base, config.read(), m, SEED);
                DataParallelLoop loop = new DataParallelLoop(peft, TrainTask.trainStep(base, local, TinyModel.LABELS),
                        local.size(), c, sgd(1, 2, 2));
                List<List<Integer>> batches = loop.localBatches(0);
                return List.of(loop.reduce(batches.subList(0, Math.min(2, batches.size())), 1,
                        new ParameterStore(m, false), m)).iterator();
            }
        }
    }

    private static List<float[]> firstStep(List<List<Integer>> assignment, boolean reduce) {
        return TinyModel.frame(spark, TinyModel.ROWS, 2).rdd().barrier()
                .mapPartitions(new PartitionFunction<>(new FirstStepTask(source, assignment, reduce)), false,
                        ClassTag$.MODULE$.apply(float[].class))
                .toJavaRDD().collect();
    }

    /** @return the gradient of the mean loss over {@code rows} in one process, then the loss */
    private static float[] singleProcess(List<Integer> rows) throws IOException {
        List<LabeledText> texts = rows.stream().map(TinyModel.ROWS::get).toList();
        try (BertForSequenceClassification base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(base, TinyModel.lora(), m, SEED);
            double loss;
            try (ThreadBackward gc = new ThreadBackward()) {
                StepOutput out = TrainTask.trainStep(base, texts, TinyModel.LABELS).compute(
                        new ParameterStore(m, false), m, java.util.stream.IntStream.range(0, texts.size()).boxed()
                                .toList(), true);
                loss = out.lossValue();
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
            float[] g = new float[flat.size() + 1];
            for (int i = 0; i < flat.size(); i++) {
                g[i] = flat.get(i);
            }
            g[flat.size()] = (float) loss;
            return g;
        }
    }

    private static double relativeError(float[] a, float[] b, int n) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < n; i++) {
            diff += (a[i] - (double) b[i]) * (a[i] - (double) b[i]);
            norm += (double) b[i] * b[i];
        }
        return Math.sqrt(diff / norm);
    }

    private static float[] divide(float[] sums, int n, float by) {
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = sums[i] / by;
        }
        return g;
    }

    @Test
    void accumulatedUnevenRanksEqualOneProcessOnTheConcatenatedBatch() throws IOException {
        // rank 0: rows 0-4, micro-batches {0,1} {2,3} | {4}; rank 1: rows 5-7, {5,6} {7}
        // step 1 = micro-batches {0,1} {2,3} on rank 0 and {5,6} {7} on rank 1: 7 examples
        List<List<Integer>> assignment = List.of(List.of(0, 1, 2, 3, 4), List.of(5, 6, 7));
        float[] single = singleProcess(List.of(0, 1, 2, 3, 5, 6, 7));
        int n = single.length - 1;
        List<float[]> dp = firstStep(assignment, true);
        assertArrayEquals(dp.get(0), dp.get(1), "bit-identical on both ranks");
        float[] reduced = dp.get(0);
        assertEquals(n + 2, reduced.length);
        assertEquals(7f, reduced[n], "global example count of the step");
        float[] g = divide(reduced, n, reduced[n]);
        double err = relativeError(g, single, n);
        assertTrue(err < 1e-5, "relative error " + err);
        assertEquals(single[n], reduced[n + 1] / reduced[n], 1e-6, "global mean loss");

        // negative control: each rank's own mean (4 and 3 examples), averaged over the ranks
        List<float[]> alone = firstStep(assignment, false);
        assertEquals(4f, alone.get(0)[n]);
        assertEquals(3f, alone.get(1)[n]);
        float[] g0 = divide(alone.get(0), n, 4);
        float[] g1 = divide(alone.get(1), n, 3);
        float[] averaged = new float[n];
        for (int i = 0; i < n; i++) {
            averaged[i] = (g0[i] + g1[i]) / 2;
        }
        double errAveraged = relativeError(averaged, single, n);
        assertTrue(errAveraged > 1e-3, "the mean of per-rank means differs by " + errAveraged);
    }

    /** The global batch of each step: all 8 rows (2 ranks × 2 micro-batches × 2 examples). */
    private static final class WholeBatch implements BatchSampler {
        @Override
        public List<List<Integer>> batches(long seed, int epoch) {
            return List.of(List.of(0, 1, 2, 3, 4, 5, 6, 7));
        }

        @Override
        public int batchCount() {
            return 1;
        }
    }

    @Test
    void sgdWithAccumulationFollowsTheSingleProcessTrajectory() throws IOException {
        Map<String, float[]> single;
        try (BertForSequenceClassification base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(base, TinyModel.lora(), m, SEED);
            AdapterTrainer.builder().setModel(peft)
                    .setConfig(TrainingConfig.builder().optMaxSteps(3).optLearningRate(LR)
                            .optOptimizer(Sgd.builder().build()).optSchedule(ScheduleType.CONSTANT)
                            .optWarmupRatio(0).optMaxGradNorm(0).optSeed(SEED).optProgressBar(false)
                            .optTrainingCurve(false).build())
                    .setBatchSampler(new WholeBatch())
                    .setTrainStep(TrainTask.trainStep(base, TinyModel.ROWS, TinyModel.LABELS))
                    .build().train();
            single = DataParallelTrainingTestSupport.values(peft.adapterStateDict(PeftModel.DEFAULT_ADAPTER));
        }
        Path out = tmp.resolve("accumulated");
        SparkTrainingResult r = SparkFineTuner.builder().setModel(source).setPeftConfig(TinyModel.lora())
                .optArguments(sgd(3, 2, 2)).build().fit(TinyModel.frame(spark, TinyModel.ROWS, 2), out.toString());
        assertEquals(3, r.finalStep(), "one optimizer step per epoch: 2 micro-batches of 2 per rank");
        double dev = DataParallelTrainingTestSupport.maxDeviation(
                DataParallelTrainingTestSupport.savedAdapter(source, out), single);
        assertTrue(dev < 1e-6, "deviation from the single-process trajectory " + dev);

        Path plain = tmp.resolve("plain");
        SparkTrainingResult p = SparkFineTuner.builder().setModel(source).setPeftConfig(TinyModel.lora())
                .optArguments(sgd(3, 2, 1)).build().fit(TinyModel.frame(spark, TinyModel.ROWS, 2), plain.toString());
        assertEquals(6, p.finalStep(), "without accumulation: two steps per epoch");
        double devPlain = DataParallelTrainingTestSupport.maxDeviation(
                DataParallelTrainingTestSupport.savedAdapter(source, plain), single);
        assertTrue(devPlain > 1e-3, "without accumulation the trajectory differs by " + devPlain);
    }

    @Test
    void accumulationStepsMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sgd(1, 2, 0));
        assertEquals("gradientAccumulationSteps must be positive, got 0", e.getMessage());
    }
}
