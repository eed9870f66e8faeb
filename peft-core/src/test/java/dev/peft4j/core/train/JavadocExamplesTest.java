package dev.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.task.ClassificationTask;
import dev.peft4j.core.task.SequenceClassifier;
import dev.peft4j.core.text.TextTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The javadoc examples of {@link AdapterTrainer}, {@link FineTuner}, {@link TrainingArguments} and
 * {@link TrainingConfig}, verbatim between the marked lines, so that they compile and run.
 */
class JavadocExamplesTest {

    @Test
    void adapterTrainerExample(@TempDir Path out) throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            BertForSequenceClassification model = TinyClassifier.create(manager);
            SequenceClassifier classifier = (ps, b, training) ->
                    model.forward(ps, b.inputIds(), b.attentionMask(), b.tokenTypeIds(), training);
            ClassificationDataset train = ClassificationDataset.builder().setRecords(TinyClassifier.TRAIN)
                    .setTokenizer(tokenizer).build();
            AdapterSaver saver = new TrainableParametersIo(model)::save;
            // ---- AdapterTrainer javadoc
            TrainStep step = ClassificationTask.trainStep(train, classifier);
            TrainingResult result = AdapterTrainer.builder()
                    .setModel(model)
                    .setConfig(TrainingConfig.builder().setOutputDir(out).setEpochs(3).build())
                    .setBatchSampler(new RandomBatchSampler(train.size(), 16, true, false))
                    .setTrainStep(step)
                    .optEvaluator(Evaluator.meanLoss(step, new RandomBatchSampler(train.size(), 32, false, false)))
                    .optBestSaver(saver)   // e.g. peftModel::save: best/ as a PEFT adapter directory
                    .build()
                    .train();
            // ----
            assertEquals(3, result.finalStep(), "8 examples in one batch of 16, 3 epochs");
            assertTrue(Files.isRegularFile(out.resolve("best").resolve(TrainableParametersIo.FILE_NAME)));
        }
    }

    @Test
    void fineTunerExample() throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            BertForSequenceClassification model = TinyClassifier.create(manager);
            List<LabeledText> test = TinyClassifier.TEST;
            // ---- FineTuner javadoc
            List<LabeledText> train = List.of(new LabeledText("good tea", "good"), new LabeledText("bad tea", "bad"));
            FineTuner tuner = FineTuner.builder()
                    .setModel(model)                     // e.g. a PEFT model: trains what is not frozen
                    .setTrainData(train)                 // records, an Iterable, a file or a dataset
                    .optEvalData(test)
                    .optTokenizer(tokenizer)
                    .optArguments(TrainingArguments.builder().optEpochs(2).build())
                    .build();
            TrainingResult result = tuner.fit();
            EvaluationResult metrics = tuner.evaluate(test);  // accuracy, macro-F1, loss
            // ----
            assertEquals(2, result.finalStep());
            assertEquals(3, metrics.count());
            assertEquals(metrics.accuracy(), result.finalMetrics().get("eval_accuracy"));
        }
    }

    @Test
    void argumentsAndConfigExamples() {
        // ---- TrainingArguments javadoc
        TrainingArguments args = TrainingArguments.builder()
                .optMaxSteps(100)                     // instead of epochs
                .optLearningRate(5e-4)
                .build();
        TrainingArguments saved = TrainingArguments.builder()
                .optOutputDir(Path.of("runs/reviews")) // checkpoints, best/ adapter, metrics.jsonl
                .optTrainingCurve(true)
                .build();
        // ---- TrainingConfig javadoc
        TrainingConfig config = TrainingConfig.builder()
                .setOutputDir(Path.of("runs/sst2"))
                .setEpochs(3)
                .optLearningRate(2e-4)
                .optSchedule(ScheduleType.LINEAR)
                .optWarmupSteps(100)
                .optGradientAccumulation(4)
                .optCheckpointEvery(500)
                .build();
        TrainingConfig inMemory = TrainingConfig.builder().optMaxSteps(200).build();
        // ----
        assertEquals(100, args.maxSteps());
        assertEquals(TrainingDefaults.EPOCHS, args.epochs());
        assertEquals(null, args.outputDir());
        assertEquals(false, args.progressBar());
        assertEquals(false, args.trainingCurve());
        assertEquals(Path.of("runs/reviews"), saved.outputDir());
        assertEquals(TrainingDefaults.LEARNING_RATE, saved.learningRate());
        assertEquals(4, config.gradientAccumulation());
        assertEquals(null, inMemory.checkpointsDir());
        TrainingConfig engine = args.toTrainingConfig("accuracy", true);
        assertEquals(6, engine.warmupSteps(100), "6% of 100 steps");
        assertEquals(2 * TrainingDefaults.BATCH_SIZE, args.evalBatchSize());
    }
}
