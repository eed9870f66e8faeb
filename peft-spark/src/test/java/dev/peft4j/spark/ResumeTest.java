package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.train.ScheduleType;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A barrier stage that fails after a checkpoint is retried by Spark ({@code local[2,2]}, two stage
 * attempts) and resumes from the checkpoint, ending where an uninterrupted run ends.
 */
class ResumeTest {

    private static final long SEED = 5;

    @TempDir static Path tmp;

    private static SparkSession spark;
    private static ModelSource<BertForSequenceClassification> source;

    @BeforeAll
    static void start() throws IOException {
        spark = LocalSpark.start("local[2,2]", 2, 10);
        source = TinyModel.save(tmp.resolve("tiny"));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static SparkFineTuner.Builder tuner() {
        // AdamW: the optimizer state (moments, step count) must come back from the checkpoint too
        return SparkFineTuner.builder().setModel(source).setPeftConfig(TinyModel.lora()).optArguments(
                new DataParallelArguments(3, 0, 2, 0.05, "adamw", 0.01, ScheduleType.LINEAR, 0.2, 1.0, SEED, true, 2));
    }

    @Test
    void aFailedStageIsRetriedFromTheLastCheckpoint() throws IOException {
        Path whole = tmp.resolve("whole");
        SparkTrainingResult uninterrupted = tuner().build().fit(TinyModel.frame(spark, TinyModel.ROWS, 2),
                whole.toString());
        assertEquals(6, uninterrupted.finalStep());

        Path ckpt = tmp.resolve("checkpoints");
        Path resumed = tmp.resolve("resumed");
        SparkTrainingResult r = tuner().optCheckpointDir(ckpt.toString()).observer((rank, step, loss) -> {
            if (rank == 1 && step == 3 && TaskContext.get().stageAttemptNumber() == 0) {
                throw new IllegalStateException("injected failure on rank 1 at step 3, first attempt");
            }
        }).build().fit(TinyModel.frame(spark, TinyModel.ROWS, 2), resumed.toString());
        assertEquals(2, r.firstStep(), "the retried stage resumed from checkpoint-2");
        assertEquals(6, r.finalStep());
        double[] tail = new double[4];
        System.arraycopy(uninterrupted.losses(), 2, tail, 0, 4);
        assertArrayEquals(tail, r.losses(), "the resumed steps have the uninterrupted run's losses");
        Map<String, float[]> a = DataParallelTrainingTestSupport.savedAdapter(source, whole);
        Map<String, float[]> b = DataParallelTrainingTestSupport.savedAdapter(source, resumed);
        assertEquals(0.0, DataParallelTrainingTestSupport.maxDeviation(b, a));
        assertTrue(Files.isDirectory(ckpt.resolve("checkpoint-6")), "final checkpoint written");
    }
}
