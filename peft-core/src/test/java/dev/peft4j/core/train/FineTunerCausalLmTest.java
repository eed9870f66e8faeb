package dev.peft4j.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.data.PlainText;
import dev.peft4j.core.data.PromptCompletion;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.text.TextTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** {@link FineTuner} on the tiny Llama fixture ({@code shared/fixtures/tiny-causal-lm/llama-bf16}). */
class FineTunerCausalLmTest {

    private static final List<Map<String, Object>> ROWS = List.of(
            Map.of("input_ids", List.of(1, 5, 9, 3, 2)), Map.of("input_ids", List.of(1, 7, 7, 2)),
            Map.of("input_ids", List.of(1, 10, 11, 12, 13, 2), "prompt_len", 3),
            Map.of("input_ids", List.of(1, 4, 2)), Map.of("input_ids", List.of(1, 20, 21, 22, 2)));

    @TempDir Path dir;

    private static LlamaForCausalLM load(NDManager manager) throws IOException {
        LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), manager);
        lm.freeze(p -> !p.equals("lm_head.weight") && !p.equals("model.norm.weight"));
        return lm;
    }

    private static TrainingArguments args() {
        return TrainingArguments.builder().optBatchSize(2).optMaxSteps(4).optLearningRate(1e-2).optSeed(3).build();
    }

    /** Map rows in memory and the same rows in a JSONL file train identically; the task is causal LM. */
    @Test
    void recordsReproduceTheFileLosses() throws IOException {
        Path file = dir.resolve("train.jsonl");
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (Map<String, Object> r : ROWS) {
            lines.add(json.writeValueAsString(r));
        }
        Files.write(file, lines);
        TrainingResult a;
        TrainingResult b;
        try (NDManager manager = NDManager.newBaseManager()) {
            FineTuner t = FineTuner.builder().setModel(load(manager)).setTrainData(file).optArguments(args()).build();
            assertEquals(TrainingTask.CAUSAL_LM, t.task());
            a = t.fit();
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            b = FineTuner.builder().setModel(load(manager)).setTrainData(ROWS).optArguments(args()).build().fit();
        }
        assertEquals(4, a.finalStep());
        assertEquals(a.losses(), b.losses());
        assertTrue(a.losses().get(4L) < a.losses().get(1L) + 1, "finite, sane losses: " + a.losses());
    }

    /**
     * A zero {@code lm_head} gives uniform next-token distributions over the 128 ids: loss ln 128
     * per trained token, perplexity 128; prompt/completion and plain-text records count their
     * trained tokens (completion + EOS; every token after the first, the config's {@code
     * bos_token_id} 1 prepended to text rows by default).
     */
    @Test
    void evaluateReturnsTheHandComputedMetrics() throws IOException {
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = TinyTokenizer.build(1 << 10, false)) {
            LlamaForCausalLM lm = load(manager);
            lm.namedParameters().get("lm_head.weight").getArray().set(new float[128 * 32]);
            FineTuner t = FineTuner.builder().setModel(lm).setTrainData(ROWS).optTokenizer(tokenizer).build();
            EvaluationResult r = t.evaluate(List.of(new PromptCompletion("hello", "good tea"),
                    new PlainText("the tea is great")));
            assertEquals(TrainingTask.CAUSAL_LM, r.task());
            assertEquals(Math.log(128), r.loss(), 1e-5);
            assertEquals(128, r.perplexity(), 1e-3);
            assertEquals(3 + 5, r.count(), "good tea </s>: 3 targets; <s> the tea is great </s>: 5 after the first");
            assertTrue(Double.isNaN(r.accuracy()));
            assertEquals(List.of("eval_loss", "perplexity"), List.copyOf(r.toMap().keySet()));
        }
    }
}
