package dev.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.DataException;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.text.TextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** {@link FineTuner} on a tiny random BERT classifier. */
class FineTunerTest {

    private static TextTokenizer tokenizer;

    @TempDir Path dir;

    @BeforeAll
    static void open() throws IOException {
        tokenizer = TinyTokenizer.build(8, true);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static TrainingArguments.Builder args() {
        return TrainingArguments.builder().optBatchSize(3).optEpochs(2).optLearningRate(1e-2).optSeed(7);
    }

    private static FineTuner.Builder tuner(BertForSequenceClassification model) {
        return FineTuner.builder().setModel(model).optTokenizer(tokenizer);
    }

    /** The same rows in memory and in a file give the same batches, dropout and so the same losses. */
    @Test
    void recordsReproduceTheFileLosses() throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(manager);
            Map<String, float[]> initial = TinyClassifier.snapshot(model);
            Path trainFile = TinyClassifier.jsonl(dir, "train.jsonl", TinyClassifier.TRAIN);
            Path testFile = TinyClassifier.jsonl(dir, "test.jsonl", TinyClassifier.TEST);

            FineTuner fromFile = tuner(model).setTrainData(trainFile).optEvalData(testFile)
                    .optArguments(args().build()).build();
            TrainingResult a = fromFile.fit();
            EvaluationResult evalA = fromFile.evaluate();
            TinyClassifier.restore(model, initial);
            FineTuner fromRecords = tuner(model).setTrainData(TinyClassifier.TRAIN).optEvalData(TinyClassifier.TEST)
                    .optArguments(args().build()).build();
            TrainingResult b = fromRecords.fit();

            assertEquals(TrainingTask.SEQUENCE_CLASSIFICATION, fromRecords.task());
            assertEquals(6, a.finalStep(), "8 rows in batches of 3: 3 steps per epoch, 2 epochs");
            assertEquals(a.losses(), b.losses());
            assertTrue(a.losses().values().stream().allMatch(Double::isFinite));
            assertFalse(a.losses().get(1L).equals(a.losses().get(2L)), "the batches differ");
            assertEquals(a.finalMetrics(), b.finalMetrics());
            assertEquals(evalA, fromRecords.evaluate(TinyClassifier.TEST));
            assertEquals(evalA.toMap().get("accuracy"), a.finalMetrics().get("eval_accuracy"));
        }
    }

    /** {@code maxSteps} alone sets the run's length, across epoch ends. */
    @Test
    void maxStepsWithoutEpochs() throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainingArguments a = TrainingArguments.builder().optMaxSteps(5).optBatchSize(4).build();
            TrainingResult r = tuner(TinyClassifier.create(manager)).setTrainData(TinyClassifier.TRAIN)
                    .optArguments(a).build().fit();
            assertEquals(5, r.finalStep());
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L), List.copyOf(r.losses().keySet()));
        }
        assertEquals(5, TrainingConfig.builder().optMaxSteps(5).build().maxSteps());
    }

    /** Without an output directory nothing is written, even with evaluation (no best weights). */
    @Test
    void noOutputDirWritesNothing() throws IOException {
        List<Path> before = list(Path.of("").toAbsolutePath());
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainingResult r = tuner(TinyClassifier.create(manager)).setTrainData(TinyClassifier.TRAIN)
                    .optEvalData(TinyClassifier.TEST).optArguments(args().optProgressBar(true)
                            .optTrainingCurve(true).build()).build().fit();
            assertNull(r.checkpointsDir());
            assertNull(r.lastCheckpoint());
            assertNull(r.bestAdapterDir());
            assertTrue(r.bestMetric() != null, "evaluation still ran and tracked the best accuracy");
        }
        assertEquals(before, list(Path.of("").toAbsolutePath()));
        assertEquals("resume needs an output directory with checkpoints; this configuration has none"
                + " (TrainingConfig.optOutputDir)", assertThrows(IllegalStateException.class,
                        () -> AdapterTrainer.builder().setModel(new TinyRegression.Mlp(0))
                                .setConfig(TrainingConfig.builder().optMaxSteps(1).build())
                                .setBatchSampler(new RandomBatchSampler(4, 2, true, false))
                                .setTrainStep((ps, m, ids, t) -> null).build().resume()).getMessage());
        assertEquals("resumeFromCheckpoint needs an output directory (optOutputDir)",
                assertThrows(IllegalArgumentException.class,
                        () -> TrainingArguments.builder().optResumeFromCheckpoint(true).build()).getMessage());
    }

    /**
     * With an output directory, {@code best/} is what the adapter saver wrote; a second fit into
     * the same directory replaces the first run's files and keeps the user's; resuming continues.
     */
    @Test
    void outputDirHoldsTheBestAdapterAndASecondFitWorks() throws IOException {
        Path out = dir.resolve("run");
        Files.createDirectories(out);
        Files.writeString(out.resolve("notes.txt"), "mine");
        try (NDManager manager = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(manager);
            AdapterSaver saver = d -> {
                Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\"}");
                new TrainableParametersIo(model).save(d);
            };
            TrainingArguments a = args().optOutputDir(out).optTrainingCurve(true).build();
            TrainingResult first = tuner(model).setTrainData(TinyClassifier.TRAIN).optEvalData(TinyClassifier.TEST)
                    .optAdapterSaver(saver).optArguments(a).build().fit();
            assertEquals(out.resolve(TrainingConfig.BEST_DIR), first.bestAdapterDir());
            assertTrue(Files.isRegularFile(first.bestAdapterDir().resolve("adapter_config.json")));
            assertTrue(Files.isRegularFile(out.resolve(TrainingConfig.METRICS_FILE)));
            assertTrue(Files.isRegularFile(out.resolve(TrainingConfig.CURVE_FILE)));
            assertEquals(out.resolve("checkpoints/checkpoint-6"), first.lastCheckpoint());

            TrainingArguments shorter = args().optOutputDir(out).optMaxSteps(2).build();
            TrainingResult second = tuner(model).setTrainData(TinyClassifier.TRAIN).optAdapterSaver(saver)
                    .optArguments(shorter).build().fit();
            assertEquals(2, second.finalStep());
            assertEquals(List.of("checkpoint-2"), names(out.resolve(TrainingConfig.CHECKPOINTS_DIR)));
            assertFalse(Files.exists(out.resolve(TrainingConfig.BEST_DIR)), "the first run's best/ is gone");
            assertFalse(Files.exists(out.resolve(TrainingConfig.CURVE_FILE)));
            assertEquals("mine", Files.readString(out.resolve("notes.txt")));
            assertEquals(2, Files.readAllLines(out.resolve(TrainingConfig.METRICS_FILE)).size());

            TrainingArguments longer = args().optOutputDir(out).optMaxSteps(2).optResumeFromCheckpoint(true).build();
            TrainingResult resumed = tuner(model).setTrainData(TinyClassifier.TRAIN).optArguments(longer).build()
                    .fit();
            assertEquals(2, resumed.finalStep(), "the checkpoint was the run's end");
            assertTrue(resumed.losses().isEmpty());

            TrainingArguments refuse = args().optOutputDir(out).optOverwriteOutputDir(false).build();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> tuner(model)
                    .setTrainData(TinyClassifier.TRAIN).optArguments(refuse).build().fit());
            assertTrue(e.getMessage().contains("already holds checkpoint checkpoint-2"), e.getMessage());
        }
        Path empty = Files.createDirectories(dir.resolve("empty"));
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainingArguments resume = args().optOutputDir(empty).optResumeFromCheckpoint(true).build();
            assertThrows(NoSuchFileException.class, () -> tuner(TinyClassifier.create(manager))
                    .setTrainData(TinyClassifier.TRAIN).optArguments(resume).build().fit());
        }
    }

    /**
     * A head with zero weights and bias (0, 1) predicts {@code good} with logits (0, 1) for every
     * text: on 3 good + 1 bad, accuracy 3/4; F1(bad) = 0, F1(good) = 2·0.75·1/1.75 = 6/7, macro-F1 =
     * 3/7; loss = (3·ln(1 + e^-1) + ln(1 + e)) / 4.
     */
    @Test
    void evaluateReturnsTheHandComputedMetrics() throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(manager);
            model.namedParameters().get("classifier.weight").getArray().set(new float[16]);
            model.namedParameters().get("classifier.bias").getArray().set(new float[] {0, 1});
            List<LabeledText> data = List.of(new LabeledText("good tea", "good"), new LabeledText("great", "good"),
                    new LabeledText("tea", "good"), new LabeledText("awful", "bad"));
            EvaluationResult r = tuner(model).setTrainData(data).build().evaluate(data);
            assertEquals(TrainingTask.SEQUENCE_CLASSIFICATION, r.task());
            assertEquals(0.75, r.accuracy(), 1e-12);
            assertEquals(3.0 / 7, r.macroF1(), 1e-12);
            double loss = (3 * Math.log1p(Math.exp(-1)) + Math.log1p(Math.E)) / 4;
            assertEquals(loss, r.loss(), 1e-6);
            assertEquals(4, r.count());
            assertTrue(Double.isNaN(r.perplexity()));
            assertEquals(List.of("eval_loss", "accuracy", "macro_f1"), List.copyOf(r.toMap().keySet()));
        }
    }

    @Test
    void badInputIsNamed() throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(manager);
            DataException e = assertThrows(DataException.class, () -> tuner(model)
                    .setTrainData(List.of(new LabeledText("tea", "good"), new LabeledText("tea", "neutral")))
                    .build().fit());
            assertEquals("records line 2: unknown label 'neutral' (labels: [bad, good])", e.getMessage());
            assertEquals("text data needs a tokenizer (optTokenizer): the model was not loaded with fromPretrained"
                    + " from a directory holding tokenizer.json", assertThrows(IllegalStateException.class,
                    () -> FineTuner.builder().setModel(model).setTrainData(TinyClassifier.TRAIN).build().fit())
                    .getMessage());
            assertEquals("cannot tell the task of a Mlp: neither it nor a module of its tree is a"
                    + " BertForSequenceClassification or a LlamaForCausalLM",
                    assertThrows(IllegalArgumentException.class, () -> FineTuner.builder()
                            .setModel(new TinyRegression.Mlp(0)).setTrainData(List.of()).build()).getMessage());
            assertEquals("training data is required (setTrainData)", assertThrows(NullPointerException.class,
                    () -> FineTuner.builder().setModel(model).build()).getMessage());
        }
    }

    private static List<Path> list(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.sorted().toList();
        }
    }

    private static List<String> names(Path d) throws IOException {
        return list(d).stream().map(p -> p.getFileName().toString()).toList();
    }
}
