package dev.peft4j.core.model;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.model.llama.BatchGenerator;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.GenerationResult;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The javadoc examples of the typed models, verbatim between the {@code // javadoc} markers, so
 * that they compile and run.
 */
class PretrainedExamplesTest {

    /** {@link PretrainedOptions} and {@link BertForSequenceClassification#fromPretrained(String)}. */
    @Test
    void classifierExamples(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("classifier");
        // javadoc: PretrainedOptions
        PretrainedOptions options = PretrainedOptions.builder()
                .optLabels(List.of("negative", "positive"))
                .optPooling(Pooling.MEAN)
                .optMaxLength(128)
                .build();
        try (BertForSequenceClassification model =
                BertForSequenceClassification.fromPretrained(Builtins.ALL_MINILM_L6_V2, options)) {
            List<Prediction> p = model.predict(List.of("great coffee"));
            // end javadoc
            assertEquals(1, p.size());
            assertEquals(1.0, p.get(0).probability("negative") + p.get(0).probability("positive"), 1e-6);
            model.savePretrained(dir);
        }
        // javadoc: BertForSequenceClassification.fromPretrained
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(dir.toString())) {
            for (Prediction p : model.predict(List.of("great coffee", "stale and bitter"))) {
                System.out.println(p.label() + " " + p.confidence());
            }
        }
        // end javadoc
    }

    /** {@link BertModel#fromPretrained(String)} and {@link PretrainedFiles}. */
    @Test
    void encoderExamples() throws IOException {
        // javadoc: BertModel.fromPretrained
        try (BertModel encoder = BertModel.fromPretrained("builtin:all-minilm-l6-v2")) {
            float[][] vectors = encoder.embed(List.of("a cup of coffee", "a mug of tea"));
            // end javadoc
            assertEquals(384, vectors[1].length);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            // javadoc: PretrainedFiles
            PretrainedFiles files = PretrainedFiles.resolve("builtin:all-minilm-l6-v2");
            try (TensorSource weights = files.openWeights()) {
                BertModel bert = BertModel.load(weights, files.config(), manager);
                // end javadoc
                assertTrue(bert.hasPooler());
            }
        }
    }

    /** {@link LlamaForCausalLM#fromPretrained(String)}, {@code generate} and {@link BatchGenerator}. */
    @Test
    void causalLmExamples(@TempDir Path tmp) throws IOException {
        Path dir = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        // javadoc: LlamaForCausalLM.fromPretrained
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
            List<GenerationResult> out = lm.generateIds(List.of(new long[] {1, 5, 77}, new long[] {1, 9}),
                    GenerationConfig.builder().setMaxNewTokens(8).build());
            // end javadoc
            assertEquals(2, out.size());
            NDManager manager = lm.assets().owner().orElseThrow();
            // javadoc: BatchGenerator
            List<GenerationResult> r = new BatchGenerator(lm).generate(manager,
                    List.of(new long[] {1, 5, 77}, new long[] {1, 9}),
                    GenerationConfig.builder().setMaxNewTokens(16).build());
            // end javadoc
            assertEquals(2, r.size());
        }
        Path withTokenizer = Files.createDirectories(tmp.resolve("lm"));
        Files.copy(dir.resolve("config.json"), withTokenizer.resolve("config.json"));
        Files.copy(dir.resolve("model.safetensors"), withTokenizer.resolve("model.safetensors"));
        Files.writeString(withTokenizer.resolve("tokenizer.json"), wordLevel());
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(withTokenizer.toString())) {
            // javadoc: LlamaForCausalLM.generate
            List<String> answers = lm.generate(List.of("The capital of France is", "1, 2, 3,"),
                    GenerationConfig.builder().setMaxNewTokens(16).build());
            // end javadoc
            assertEquals(2, answers.size());
        }
    }

    /** Every word is {@code <unk>} (id 0) but the example's prompts. */
    private static String wordLevel() {
        StringBuilder vocab = new StringBuilder("\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2");
        for (int i = 3; i < 128; i++) {
            vocab.append(", \"w").append(i).append("\": ").append(i);
        }
        return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [], \"normalizer\": null,"
                + " \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, \"post_processor\": null, \"decoder\": null,"
                + " \"model\": {\"type\": \"WordLevel\", \"vocab\": {" + vocab + "}, \"unk_token\": \"<unk>\"}}";
    }
}
