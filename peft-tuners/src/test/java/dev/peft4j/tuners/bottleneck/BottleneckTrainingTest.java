package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.peft.PeftModel;
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
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link FineTuner} with a bottleneck {@link PeftModel} on the tiny BERT classifier. */
class BottleneckTrainingTest {

    /**
     * Houlsby (both sites) on a one-layer BERT of width 8 with reduction 4 (width 2): the adapter
     * and the classifier train, nothing else; {@code best/} is an AdapterHub directory (with the
     * classifier under its own keys) that reloads with the same metrics.
     */
    @Test
    void aFewStepsTrainOnlyTheAdapterAndTheHead(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            BertForSequenceClassification base = TinyClassifier.create(manager);
            Map<String, float[]> baseWeights = TinyClassifier.snapshot(base);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(base, BottleneckConfig.doubleSeqBn()
                    .optReductionFactor(4).optTaskType("SEQ_CLS").build(), manager, 1);
            assertEquals(List.of("classifier"), peft.config("default").modulesToSave());
            // 2 sites x (8*2 + 2 + 2*8 + 8) + classifier (8*2 + 2)
            assertEquals(2 * 42 + 18, peft.trainableParameters().trainable());
            String up = "bert.encoder.layer.0.output.adapters.default.adapter_up.weight";
            float[] upBefore = base.namedParameters().get(up).getArray().toFloatArray();
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(TinyClassifier.TRAIN)
                    .optEvalData(TinyClassifier.TEST).optTokenizer(tokenizer).optAdapterSaver(peft::save)
                    .optArguments(TrainingArguments.builder().optOutputDir(out).optEpochs(1).optBatchSize(3)
                            .optLearningRate(1e-2).build())
                    .build();
            TrainingResult result = tuner.fit();
            EvaluationResult trained = tuner.evaluate();

            Map<String, float[]> after = TinyClassifier.snapshot(base);
            for (Map.Entry<String, float[]> e : baseWeights.entrySet()) {
                if (!e.getKey().startsWith("classifier.")) {
                    assertArrayEquals(e.getValue(), after.get(e.getKey()), 0f, e.getKey() + " is frozen");
                }
            }
            assertFalse(java.util.Arrays.equals(upBefore, after.get(up)), "the adapter trained");
            Path best = result.bestAdapterDir();
            assertTrue(Files.isRegularFile(best.resolve("adapter.safetensors")));
            String json = Files.readString(best.resolve("adapter_config.json"));
            assertTrue(json.contains("\"model_class\": \"BertForSequenceClassification\""), json);
            assertTrue(json.contains("\"name\": \"default\""), json);
            assertTrue(json.contains("\"peft4j\": {\n    \"modules_to_save\": [\n      \"classifier\"\n    ],"), json);
            try (TensorSource src = TensorSources.open(best.resolve("adapter.safetensors"))) {
                Set<String> keys = new TreeSet<>(src.names());
                assertEquals(10, keys.size(), keys.toString());
                assertTrue(keys.contains("bert.encoder.layer.0.attention.output.adapters.default.adapter_down.0.weight"));
                assertTrue(keys.contains("classifier.weight") && keys.contains("classifier.bias"));
            }

            BertForSequenceClassification fresh = TinyClassifier.create(manager);
            TinyClassifier.restore(fresh, baseWeights);
            PeftModel<BertForSequenceClassification> loaded = PeftModel.load(fresh, best, manager);
            assertFalse(loaded.adapterParameters("default").isEmpty());
            EvaluationResult reloaded = FineTuner.builder().setModel(loaded).setTrainData(TinyClassifier.TRAIN)
                    .optTokenizer(tokenizer).build().evaluate(TinyClassifier.TEST);
            assertEquals(trained.accuracy(), reloaded.accuracy());
            assertEquals(trained.loss(), reloaded.loss(), 1e-5);
        }
    }
}
