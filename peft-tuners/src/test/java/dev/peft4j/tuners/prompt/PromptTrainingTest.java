package dev.peft4j.tuners.prompt;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.EvaluationResult;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TinyClassifier;
import dev.peft4j.core.train.TrainingArguments;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training the prompt-learning methods through {@link FineTuner}: only the prompt encoder (and a
 * classification head in {@code modules_to_save}) changes, the loss goes down, and what is saved
 * (the encoder's output, as PEFT) loads back to the same outputs.
 */
class PromptTrainingTest {

    /** Pre-tokenized causal-LM rows over the tiny Llama's 128 ids. */
    private static final List<Map<String, Object>> ROWS = List.of(
            Map.of("input_ids", List.of(1, 5, 9, 3, 2)), Map.of("input_ids", List.of(1, 7, 7, 2)),
            Map.of("input_ids", List.of(1, 10, 11, 12, 13, 2), "prompt_len", 3),
            Map.of("input_ids", List.of(1, 4, 2)), Map.of("input_ids", List.of(1, 20, 21, 22, 2)));

    private static final long[] PROBE = {1, 42, 17, 25, 3};

    @TempDir Path dir;

    private static LlamaForCausalLM llama(NDManager manager) throws IOException {
        return LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), manager);
    }

    private static Map<String, float[]> snapshot(Map<String, Parameter> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    private static float[] logits(LlamaForCausalLM lm, NDManager m) {
        return lm.forward(new ParameterStore(m, false), m.create(PROBE).reshape(1, PROBE.length), null, null, null,
                false, 1).logits().toFloatArray();
    }

    /**
     * Wraps the tiny Llama, trains 8 steps on the rows, and checks: the base is untouched, every
     * encoder parameter moved, the evaluation loss fell; the saved adapter reloads to the same logits.
     */
    private void trainCausalLm(PeftConfig config, Set<String> encoderParams, Shape saved) throws IOException {
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = llama(manager);
            Map<String, float[]> base = snapshot(lm.namedParameters());
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, config, manager, 5);
            Map<String, float[]> before = snapshot(peft.namedParameters());
            assertEquals(encoderParams, Set.copyOf(trainable(peft)));
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(ROWS)
                    .optArguments(TrainingArguments.builder().optBatchSize(5).optMaxSteps(8).optLearningRate(5e-2)
                            .optSeed(3).build())
                    .build();
            double lossBefore = tuner.evaluate(ROWS).loss();
            tuner.fit();
            double lossAfter = tuner.evaluate(ROWS).loss();
            String name = config.peftType()
                    + (config instanceof PrefixTuningConfig p && p.prefixProjection() ? " (projection)" : "");
            System.out.printf("%s: eval loss %.4f -> %.4f%n", name, lossBefore, lossAfter);
            assertTrue(lossAfter < lossBefore - 0.05, lossBefore + " -> " + lossAfter);
            Map<String, float[]> after = snapshot(peft.namedParameters());
            for (Map.Entry<String, float[]> e : before.entrySet()) {
                boolean changed = !Arrays.equals(e.getValue(), after.get(e.getKey()));
                assertEquals(encoderParams.contains(e.getKey()), changed, e.getKey());
            }
            base.forEach((k, v) -> assertArrayEquals(v, lm.namedParameters().get(k).getArray().toFloatArray(), k));

            float[] trained = logits(lm, manager);
            peft.save(dir.resolve(config.peftType()));
            try (TensorSource src = TensorSources.open(dir.resolve(config.peftType()).resolve(PeftModel.WEIGHTS_FILE))) {
                assertEquals(Set.of("prompt_embeddings"), Set.copyOf(src.names()));
                assertEquals(saved, new Shape(src.info("prompt_embeddings").shape()));
            }
            LlamaForCausalLM fresh = llama(manager);
            PeftModel<LlamaForCausalLM> loaded = PeftModel.load(fresh, dir.resolve(config.peftType()));
            assertEquals(Set.of("base_model.model.prompt_encoder.default.embedding.weight"),
                    Set.copyOf(loaded.namedParameters().keySet().stream()
                            .filter(k -> k.contains("prompt_encoder")).toList()), "a plain table after loading");
            float[] reloaded = logits(fresh, manager);
            double diff = 0;
            for (int i = 0; i < trained.length; i++) {
                diff = Math.max(diff, Math.abs(trained[i] - reloaded[i]));
            }
            assertTrue(diff <= 1e-5, "reloaded logits differ by " + diff);
            peft.unload();
            assertFalse(lm.children().containsKey("prompt_encoder"));
            assertTrue(lm.hooks().isEmpty());
        }
    }

    private static List<String> trainable(PeftModel<?> peft) {
        return peft.namedParameters().entrySet().stream().filter(e -> e.getValue().requiresGradient())
                .map(Map.Entry::getKey).toList();
    }

    private static final String ENC = "base_model.model.prompt_encoder.default.";

    @Test
    void promptTuningTrainsOnlyThePrompt() throws IOException {
        trainCausalLm(PromptTuningConfig.builder().setNumVirtualTokens(4).optTaskType("CAUSAL_LM").build(),
                Set.of(ENC + "embedding.weight"), new Shape(4, 32));
    }

    @Test
    void pTuningTrainsTheEncoderAndSavesItsOutput() throws IOException {
        trainCausalLm(PromptEncoderConfig.builder().setNumVirtualTokens(4).optEncoderHiddenSize(16)
                        .optTaskType("CAUSAL_LM").build(),
                Set.of(ENC + "embedding.weight", ENC + "mlp_head.0.weight", ENC + "mlp_head.0.bias",
                        ENC + "mlp_head.2.weight", ENC + "mlp_head.2.bias", ENC + "mlp_head.4.weight",
                        ENC + "mlp_head.4.bias"), new Shape(4, 32));
    }

    @Test
    void prefixTuningTrainsTheTable() throws IOException {
        trainCausalLm(PrefixTuningConfig.builder().setNumVirtualTokens(3).optTaskType("CAUSAL_LM").build(),
                Set.of(ENC + "embedding.weight"), new Shape(3, 2 * 2 * 16));
    }

    @Test
    void prefixProjectionTrainsTheMlpAndSavesItsOutput() throws IOException {
        trainCausalLm(PrefixTuningConfig.builder().setNumVirtualTokens(3).optPrefixProjection(true)
                        .optEncoderHiddenSize(8).optTaskType("CAUSAL_LM").build(),
                Set.of(ENC + "embedding.weight", ENC + "transform.0.weight", ENC + "transform.0.bias",
                        ENC + "transform.2.weight", ENC + "transform.2.bias"), new Shape(3, 2 * 2 * 16));
    }

    /** BERT prompt tuning for classification: the prompt and the head (modules_to_save) train. */
    @Test
    void bertPromptTuningTrainsThePromptAndTheHead() throws IOException {
        Engine.getInstance().setRandomSeed(11);
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            BertForSequenceClassification bert = TinyClassifier.create(manager);
            Map<String, float[]> encoder = snapshot(bert.namedParameters());
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(bert, PromptTuningConfig.builder()
                    .setNumVirtualTokens(4).optTaskType("SEQ_CLS").build(), manager, 2);
            assertEquals(List.of("classifier"), peft.config("default").modulesToSave());
            assertEquals(Set.of("base_model.model.prompt_encoder.default.embedding.weight",
                    "base_model.model.classifier.weight", "base_model.model.classifier.bias"),
                    Set.copyOf(trainable(peft)));
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(TinyClassifier.TRAIN)
                    .optTokenizer(tokenizer)
                    .optArguments(TrainingArguments.builder().optBatchSize(4).optMaxSteps(12).optLearningRate(5e-2)
                            .optSeed(1).build())
                    .build();
            EvaluationResult first = tuner.evaluate(TinyClassifier.TRAIN);
            tuner.fit();
            EvaluationResult last = tuner.evaluate(TinyClassifier.TRAIN);
            System.out.printf("BERT prompt tuning: train loss %.4f -> %.4f%n", first.loss(), last.loss());
            assertTrue(last.loss() < first.loss(), first.loss() + " -> " + last.loss());
            encoder.forEach((k, v) -> {
                if (!k.startsWith("classifier.")) {
                    assertArrayEquals(v, bert.namedParameters().get(k).getArray().toFloatArray(), k);
                }
            });
            peft.save(dir.resolve("bert"));
            try (TensorSource src = TensorSources.open(dir.resolve("bert").resolve(PeftModel.WEIGHTS_FILE))) {
                assertEquals(Set.of("prompt_embeddings", "base_model.classifier.weight", "base_model.classifier.bias"),
                        Set.copyOf(src.names()), "PEFT's prompt-learning keys");
                assertEquals(new Shape(4, 8), new Shape(src.info("prompt_embeddings").shape()));
            }
        }
    }

    /** BERT prefix tuning for classification: per-layer keys and values and the head train, the encoder does not. */
    @Test
    void bertPrefixTuningTrains() throws IOException {
        Engine.getInstance().setRandomSeed(12);
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            BertForSequenceClassification bert = TinyClassifier.create(manager);
            Map<String, float[]> encoder = snapshot(bert.namedParameters());
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(bert, PrefixTuningConfig.builder()
                    .setNumVirtualTokens(4).optTaskType("SEQ_CLS").build(), manager, 3);
            PrefixTuningConfig resolved = (PrefixTuningConfig) peft.config("default");
            assertEquals(8, resolved.tokenDim(), "head_dim 4 x 2 heads");
            assertEquals(1, resolved.numLayers());
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(TinyClassifier.TRAIN)
                    .optTokenizer(tokenizer)
                    .optArguments(TrainingArguments.builder().optBatchSize(4).optMaxSteps(12).optLearningRate(5e-2)
                            .optSeed(1).build())
                    .build();
            EvaluationResult first = tuner.evaluate(TinyClassifier.TRAIN);
            tuner.fit();
            EvaluationResult last = tuner.evaluate(TinyClassifier.TRAIN);
            System.out.printf("BERT prefix tuning: train loss %.4f -> %.4f%n", first.loss(), last.loss());
            assertTrue(last.loss() < first.loss(), first.loss() + " -> " + last.loss());
            encoder.forEach((k, v) -> {
                if (!k.startsWith("classifier.")) {
                    assertArrayEquals(v, bert.namedParameters().get(k).getArray().toFloatArray(), k);
                }
            });
            peft.save(dir.resolve("bert-prefix"));
            try (TensorSource src = TensorSources.open(dir.resolve("bert-prefix").resolve(PeftModel.WEIGHTS_FILE))) {
                assertEquals(new Shape(4, 1 * 2 * 8), new Shape(src.info("prompt_embeddings").shape()));
            }
        }
    }
}
