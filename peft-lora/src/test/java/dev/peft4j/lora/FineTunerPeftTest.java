package dev.peft4j.lora;

import dev.peft4j.core.peft.PeftModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.EvaluationResult;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TinyClassifier;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@link FineTuner} with a LoRA {@link PeftModel}: {@code best/} is a PEFT adapter directory. */
class FineTunerPeftTest {

    @Test
    void bestCheckpointLoadsAsAnAdapter(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            BertForSequenceClassification base = TinyClassifier.create(manager);
            Map<String, float[]> baseWeights = TinyClassifier.snapshot(base);
            PeftModel peft = PeftModel.wrap(base, LoraConfig.builder().setTargetModules("query", "value").optR(2)
                    .optModulesToSave(List.of("classifier")).optTaskType("SEQ_CLS").build(), manager, 1);
            // one epoch of 3 steps, evaluated once at its end: best/ holds the final weights
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(TinyClassifier.TRAIN)
                    .optEvalData(TinyClassifier.TEST).optTokenizer(tokenizer).optAdapterSaver(peft::save)
                    .optArguments(TrainingArguments.builder().optOutputDir(out).optEpochs(1).optBatchSize(3)
                            .optLearningRate(1e-2).build())
                    .build();
            TrainingResult result = tuner.fit();
            EvaluationResult trained = tuner.evaluate();
            Path best = result.bestAdapterDir();
            assertEquals(out.resolve("best"), best);
            assertTrue(Files.isRegularFile(best.resolve("adapter_config.json")));
            assertTrue(Files.isRegularFile(best.resolve(PeftModel.WEIGHTS_FILE)));
            assertEquals(trained.accuracy(), result.bestMetric());

            BertForSequenceClassification fresh = TinyClassifier.create(manager);
            TinyClassifier.restore(fresh, baseWeights);
            PeftModel loaded = PeftModel.load(fresh, best, manager);
            EvaluationResult reloaded = FineTuner.builder().setModel(loaded).setTrainData(TinyClassifier.TRAIN)
                    .optTokenizer(tokenizer).build().evaluate(TinyClassifier.TEST);
            assertEquals(trained.accuracy(), reloaded.accuracy());
            assertEquals(trained.loss(), reloaded.loss(), 1e-5);
        }
    }
}
