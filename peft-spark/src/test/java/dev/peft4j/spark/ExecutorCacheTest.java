package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.ScheduleType;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The frozen base is loaded once per executor JVM (here: once per concurrent task slot of the
 * local JVM) and reused by later tasks and stages, for training (restored after each run) and for
 * inference.
 */
class ExecutorCacheTest {

    @TempDir static Path tmp;

    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start("local[2]", 1, 10);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static DataParallelArguments sgd() {
        return new DataParallelArguments(1, 0, 2, 0.5, "sgd", 0, ScheduleType.CONSTANT, 0, 0, 5, false, 0);
    }

    @Test
    void aSecondTrainingRunReusesTheRestoredBasesAndTrainsTheSame() throws IOException {
        ModelSource<BertForSequenceClassification> source = TinyModel.save(tmp.resolve("train-base"));
        SparkFineTuner tuner = SparkFineTuner.builder().setModel(source).setPeftConfig(TinyModel.lora())
                .optArguments(sgd()).build();
        tuner.fit(TinyModel.frame(spark, TinyModel.ROWS, 2), tmp.resolve("first").toString());
        assertEquals(2, ExecutorModels.loads(source.key()), "one base per concurrent rank");
        tuner.fit(TinyModel.frame(spark, TinyModel.ROWS, 2), tmp.resolve("second").toString());
        assertEquals(2, ExecutorModels.loads(source.key()), "the second run reloads nothing");
        // the trained modules_to_save head of the first run did not stay in the cached bases
        assertEquals(0.0, DataParallelTrainingTestSupport.maxDeviation(
                DataParallelTrainingTestSupport.savedAdapter(source, tmp.resolve("second")),
                DataParallelTrainingTestSupport.savedAdapter(source, tmp.resolve("first"))));
    }

    @Test
    void inferenceLoadsTheModelOncePerJvmAcrossStages() throws IOException {
        ModelSource<BertForSequenceClassification> source = TinyModel.save(tmp.resolve("inference-base"));
        SparkTextModel scorer = SparkTextModel.classifier(source).optBatchSize(3).build();
        List<Row> first = scorer.transform(TinyModel.frame(spark, TinyModel.ROWS, 2)).collectAsList();
        assertEquals(1, ExecutorModels.loads(source.key()), "two tasks, one load");
        List<Row> second = scorer.transform(TinyModel.frame(spark, TinyModel.ROWS, 2)).collectAsList();
        assertEquals(1, ExecutorModels.loads(source.key()), "the second stage reloads nothing");
        assertEquals(first, second);
    }

    @Test
    void aSnapshotPutsBackModulesToSaveAndParametersTrainedInPlace() throws IOException {
        ModelSource<BertForSequenceClassification> source = TinyModel.save(tmp.resolve("snapshot-base"));
        List<String> texts = TinyModel.ROWS.stream().map(LabeledText::text).toList();
        try (BertForSequenceClassification base = source.load();
                BertForSequenceClassification fresh = source.load();
                NDManager m = NDManager.newBaseManager()) {
            List<Prediction> expected = fresh.predict(texts);
            Module head = base.getModule("classifier");
            String biasPath = base.namedParameters().keySet().stream().filter(k -> k.endsWith("LayerNorm.bias"))
                    .findFirst().orElseThrow();
            Parameter bias = base.namedParameters().get(biasPath);
            float[] biasBefore = bias.getArray().toFloatArray();

            BaseSnapshot snapshot = BaseSnapshot.of(base);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(base, TinyModel.lora(), m, 3);
            base.unfreeze(biasPath::equals); // as BitFit does: a base parameter trained in place
            assertEquals(1, snapshot.protectTrainedInPlace(m));
            float[] changed = biasBefore.clone();
            Arrays.fill(changed, 0.5f);
            bias.getArray().set(changed);
            peft.unload();
            assertNotSame(head, base.getModule("classifier"), "unload keeps the modules_to_save copy");

            assertTrue(snapshot.restore(base));
            assertSame(head, base.getModule("classifier"));
            assertArrayEquals(biasBefore, bias.getArray().toFloatArray());
            assertEquals(fresh.trainableParameterCount(), base.trainableParameterCount(), "flags as loaded");
            List<Prediction> after = base.predict(texts);
            for (int i = 0; i < texts.size(); i++) {
                assertArrayEquals(expected.get(i).probabilities(), after.get(i).probabilities(), "row " + i);
            }
        }
    }
}
