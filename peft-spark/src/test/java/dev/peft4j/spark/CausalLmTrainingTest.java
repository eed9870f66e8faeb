package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.train.AdapterTrainer;
import dev.peft4j.core.train.BatchSampler;
import dev.peft4j.core.train.ScheduleType;
import dev.peft4j.core.train.Sgd;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.TrainStep;
import dev.peft4j.core.train.TrainingConfig;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraInit;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Causal-LM data-parallel training on the shared tiny Llama: the loss is a mean over the trained
 * tokens (labels other than -100) of every rank, equal to one process on the concatenated batch;
 * the adapter is written in PEFT format.
 */
class CausalLmTrainingTest {

    private static final long SEED = 7;
    private static final double LR = 0.5;
    private static final long I = -100;

    /** Pre-tokenized rows with prompt positions masked: 3 + 3 + 4 trained tokens, then 2 + 9 + 2. */
    private static final List<long[][]> SEQUENCES = List.of(
            new long[][] {{1, 10, 11, 12, 13, 2}, {I, I, I, 12, 13, 2}},
            new long[][] {{1, 20, 21, 2}, {1, 20, 21, 2}},
            new long[][] {{1, 30, 31, 32, 33, 34, 35, 2}, {I, I, I, I, 33, 34, 35, 2}},
            new long[][] {{1, 40, 41}, {1, 40, 41}},
            new long[][] {{1, 50, 51, 52, 53, 54, 55, 56, 57, 2}, {1, 50, 51, 52, 53, 54, 55, 56, 57, 2}},
            new long[][] {{1, 60, 61, 2}, {I, I, 61, 2}});

    private static final StructType SCHEMA = new StructType()
            .add("input_ids", DataTypes.createArrayType(DataTypes.LongType, false), false)
            .add("labels", DataTypes.createArrayType(DataTypes.LongType, false), false);

    @TempDir static Path tmp;

    private static SparkSession spark;
    private static ModelSource<LlamaForCausalLM> source;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start("local[2]", 1, 10);
        source = ModelSource.causalLm(Fixtures.fixture("tiny-causal-lm", "llama-bf16").toString());
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static LoraConfig lora() {
        return LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(2).optLoraAlpha(4).optLoraDropout(0)
                .optInitLoraWeights(LoraInit.RANDOM).build();
    }

    /** @return the rows in 2 contiguous partitions of 3 */
    private static Dataset<Row> frame() {
        List<Row> rows = SEQUENCES.stream().map(s -> RowFactory.create(s[0], s[1])).toList();
        return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, 2),
                SCHEMA);
    }

    private static DataParallelArguments sgd(int epochs, int accumulation) {
        return new DataParallelArguments(epochs, 0, 2, LR, "sgd", 0, ScheduleType.CONSTANT, 0, 0, SEED, false, 0,
                accumulation);
    }

    /** Each rank's reduced vector of one optimizer step over its whole partition (2 micro-batches). */
    private static final class StepTask implements FlatMapFunction<Iterator<Row>, float[]> {
        private final ModelSource<LlamaForCausalLM> source;
        private final ConfigBytes config = ConfigBytes.of(lora());
        private final boolean reduce;

        StepTask(ModelSource<LlamaForCausalLM> source, boolean reduce) {
            this.source = source;
            this.reduce = reduce;
        }

        @Override
        public Iterator<float[]> call(Iterator<Row> rows) throws Exception {
            Collective c = reduce ? BarrierCollective.current() : new NoReduce(BarrierCollective.current());
            List<Row> local = new ArrayList<>();
            rows.forEachRemaining(local::add);
            try (LlamaForCausalLM base = source.load();
                    NDManager m = NDManager.newBaseManager()) {
                PeftModel<?> peft = PeftModel.wrap(base, config.read(), m, SEED);
                CausalLmObjective objective = new CausalLmObjective(source, 32);
                DataParallelLoop loop = new DataParallelLoop(peft, objective.step(base, local), local.size(), c,
                        sgd(1, 2), objective.normalization());
                return List.of(loop.reduce(loop.localBatches(0), 1, new ParameterStore(m, false), m)).iterator();
            }
        }
    }

    private static List<float[]> dataParallel(boolean reduce) {
        return frame().rdd().barrier().mapPartitions(new PartitionFunction<>(new StepTask(source, reduce)), false,
                ClassTag$.MODULE$.apply(float[].class)).toJavaRDD().collect();
    }

    /** @return the gradient of the mean token loss over all rows in one batch, then the loss */
    private static float[] singleProcess() throws IOException {
        List<Row> rows = frame().collectAsList();
        try (LlamaForCausalLM base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(base, lora(), m, SEED);
            TrainStep step = new CausalLmObjective(source, 32).step(base, rows);
            double loss;
            try (ThreadBackward gc = new ThreadBackward()) {
                StepOutput out = step.compute(new ParameterStore(m, false), m,
                        IntStream.range(0, rows.size()).boxed().toList(), true);
                assertEquals(23, out.tokens(), "trained tokens of all rows");
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

    @Test
    void gradientsAreTokenNormalizedAcrossRanksAsInOneProcess() throws IOException {
        float[] single = singleProcess();
        int n = single.length - 1;
        List<float[]> dp = dataParallel(true);
        assertArrayEquals(dp.get(0), dp.get(1), "bit-identical on both ranks");
        float[] reduced = dp.get(0);
        assertEquals(23f, reduced[n], "global trained-token count");
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = reduced[i] / reduced[n];
        }
        double err = relativeError(g, single, n);
        assertTrue(err < 1e-5, "relative error " + err);
        assertEquals(single[n], reduced[n + 1] / reduced[n], 1e-5, "global mean token loss");

        // negative control: the mean of each rank's own token mean (10 and 13 tokens)
        List<float[]> alone = dataParallel(false);
        assertEquals(10f, alone.get(0)[n]);
        assertEquals(13f, alone.get(1)[n]);
        float[] averaged = new float[n];
        for (int i = 0; i < n; i++) {
            averaged[i] = (alone.get(0)[i] / 10 + alone.get(1)[i] / 13) / 2;
        }
        double errAveraged = relativeError(averaged, single, n);
        assertTrue(errAveraged > 1e-3, "the mean of per-rank means differs by " + errAveraged);
    }

    /** Step s's global batch: rank 0's batch s (rows 0-2), then rank 1's (rows 3-5). */
    private static final class UnionSampler implements BatchSampler {
        @Override
        public List<List<Integer>> batches(long seed, int epoch) {
            return List.of(List.of(0, 1, 3, 4), List.of(2, 5));
        }

        @Override
        public int batchCount() {
            return 2;
        }
    }

    @Test
    void sgdFollowsTheSingleProcessTrajectoryAndWritesAPeftAdapter() throws IOException {
        Map<String, float[]> single;
        double firstLoss;
        List<Row> rows = frame().collectAsList();
        try (LlamaForCausalLM base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(base, lora(), m, SEED);
            TrainStep step = new CausalLmObjective(source, 32).step(base, rows);
            try (NDManager sm = m.newSubManager()) {
                firstLoss = step.compute(new ParameterStore(sm, false), sm, List.of(0, 1, 3, 4), false).lossValue();
            }
            AdapterTrainer.builder().setModel(peft)
                    .setConfig(TrainingConfig.builder().optMaxSteps(4).optLearningRate(LR)
                            .optOptimizer(Sgd.builder().build()).optSchedule(ScheduleType.CONSTANT)
                            .optWarmupRatio(0).optMaxGradNorm(0).optSeed(SEED).optProgressBar(false)
                            .optTrainingCurve(false).build())
                    .setBatchSampler(new UnionSampler()).setTrainStep(step).build().train();
            single = DataParallelTrainingTestSupport.values(peft.adapterStateDict(PeftModel.DEFAULT_ADAPTER));
        }
        Path out = tmp.resolve("adapter");
        SparkTrainingResult r = SparkCausalLmFineTuner.builder().setModel(source).setPeftConfig(lora())
                .optMaxLength(32).optArguments(sgd(2, 1)).build().fit(frame(), out.toString());
        assertEquals(4, r.finalStep());
        assertEquals(6, r.examples());
        assertEquals(firstLoss, r.losses()[0], 1e-5, "step 1's loss: mean over the 17 trained tokens of rows 0, 1, 3, 4");
        assertTrue(Files.readString(out.resolve("adapter_config.json")).contains("\"LORA\""));
        Map<String, float[]> trained;
        try (LlamaForCausalLM base = source.load();
                NDManager m = NDManager.newBaseManager()) {
            trained = DataParallelTrainingTestSupport.values(
                    PeftModel.load(base, out, m).adapterStateDict(PeftModel.DEFAULT_ADAPTER));
        }
        double dev = DataParallelTrainingTestSupport.maxDeviation(trained, single);
        assertTrue(dev < 1e-6, "deviation from the single-process trajectory " + dev);
    }

    @Test
    void dataWithoutUsableColumnsIsRejected() {
        Dataset<Row> df = frame().withColumnRenamed("input_ids", "ids").drop("labels");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkCausalLmFineTuner.builder().setModel(source).setPeftConfig(lora()).build()
                        .fit(df, tmp.resolve("never").toString()));
        assertEquals("the data needs a text, prompt and completion, or input_ids column; it has [ids]",
                e.getMessage());
    }
}
