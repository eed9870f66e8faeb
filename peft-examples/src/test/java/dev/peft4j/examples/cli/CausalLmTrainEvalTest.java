package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.testing.Fixtures;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** {@code train} then {@code eval} of causal-LM adapters on the tiny Llama fixture. */
class CausalLmTrainEvalTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void preTokenizedDataTrainsAndEvaluates() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path train = TestData.preTokenized(dir, "train.jsonl", 16);
        Path eval = TestData.preTokenized(dir, "eval.jsonl", 6);
        Path out = dir.resolve("run");
        CliRun t = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm",
                "--train", train.toString(), "--eval", eval.toString(), "--epochs", "2", "--batch-size", "4",
                "--max-length", "16", "--lr", "5e-3", "--lora-dropout", "0", "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        // q_proj [32→32] and v_proj [32→16 (2 kv heads × 8)] of 2 layers: 2 × (8·32 + 32·8 + 8·32 + 16·8)
        assertTrue(t.err().startsWith("trainable params: 1,792 || all"), t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        assertEquals(8, summary.get("steps").asInt());
        assertTrue(Files.isRegularFile(out.resolve("adapter_model.safetensors")));
        assertTrue(Files.notExists(out.resolve("labels.json")));
        JsonNode config = MAPPER.readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("CAUSAL_LM", config.get("task_type").asText());

        CliRun e = CliRun.of(new EvalCommand(), "--model", model.toString(), "--adapter", out.toString(),
                "--data", eval.toString(), "--max-length", "16");
        assertEquals(0, e.code(), e.err());
        JsonNode m = MAPPER.readTree(e.out());
        assertEquals("causal-lm", m.get("task").asText());
        assertEquals(6, m.get("sequences").asInt());
        assertEquals(2 * 5 + 2 * 6 + 2 * 7, m.get("tokens").asInt()); // ids after the 2-token prompt
        assertEquals(summary.get("eval_loss").asDouble(), m.get("loss").asDouble(), 1e-5);
        assertEquals(Math.exp(m.get("loss").asDouble()), m.get("perplexity").asDouble(), 1e-9);
        assertEquals(summary.get("eval_perplexity").asDouble(), m.get("perplexity").asDouble(), 1e-4);
        // training lowered the loss: a random tiny model starts near ln(128) = 4.85
        assertTrue(m.get("loss").asDouble() < 4.5, e.out());
    }

    @Test
    void chatDataWithATokenizerBesideTheModel() throws IOException {
        Path fixture = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path model = Files.createDirectories(dir.resolve("model"));
        for (String f : List.of("config.json", "model.safetensors")) {
            Files.copy(fixture.resolve(f), model.resolve(f));
        }
        Files.writeString(model.resolve("tokenizer.json"), TinyTokenizer.json());
        Path train = Files.write(dir.resolve("chat.jsonl"), List.of(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hello\"},"
                        + " {\"role\": \"assistant\", \"content\": \"good tea\"}]}",
                "{\"prompt\": \"the tea is\", \"completion\": \"great\"}",
                "{\"text\": \"very good tea\"}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"));
        Path out = dir.resolve("chat-run");
        CliRun strict = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm",
                "--train", train.toString(), "--epochs", "1", "--out", out.toString());
        assertEquals(1, strict.code());
        assertEquals("error: chat.jsonl line 4: 'messages' has no assistant message to train on", strict.err());
        CliRun t = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm",
                "--train", train.toString(), "--epochs", "1", "--batch-size", "2", "--skip-bad-rows",
                "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("train: 3 sequences (1 bad rows skipped)"), t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        assertEquals(1, summary.get("skipped_rows").asInt());
        assertEquals(2, summary.get("steps").asInt());
        CliRun e = CliRun.of(new EvalCommand(), "--model", model.toString(), "--adapter", out.toString(),
                "--data", train.toString(), "--skip-bad-rows");
        assertEquals(0, e.code(), e.err());
        JsonNode m = MAPPER.readTree(e.out());
        // trained tokens: "good tea <|im_end|>" 3, "great </s>" 2, "very good tea </s>" 4
        assertEquals(9, m.get("tokens").asInt());
        assertEquals(1, m.get("skipped_rows").asInt());
    }

    @Test
    void resumeOfAFinishedRunAndEvalOverAnNf4Base() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path train = TestData.preTokenized(dir, "r-train.jsonl", 8);
        Path out = dir.resolve("resume");
        String[] args = {"--model", model.toString(), "--task", "causal-lm", "--train", train.toString(),
            "--epochs", "1", "--batch-size", "4", "--max-length", "16", "--lora-dropout", "0", "--target-modules",
            "q_proj,k_proj,v_proj,o_proj", "--out", out.toString()};
        CliRun t = CliRun.of(new TrainCommand(), args);
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().startsWith("trainable params: 3,584 ||"), t.err());
        assertEquals(2, MAPPER.readTree(t.out()).get("steps").asInt());

        String[] resume = Arrays.copyOf(args, args.length + 1);
        resume[args.length] = "--resume";
        CliRun r = CliRun.of(new TrainCommand(), resume);
        assertEquals(0, r.code(), r.err());
        JsonNode again = MAPPER.readTree(r.out());
        assertEquals(2, again.get("steps").asInt());
        assertTrue(again.get("final_loss").isNull(), r.out()); // nothing left to run

        // the 4-bit path of eval: 7 linear layers per decoder layer x 2 quantized, lm_head kept
        CliRun e = CliRun.of(new EvalCommand(), "--model", model.toString(), "--adapter", out.toString(),
                "--data", train.toString(), "--max-length", "16", "--quantize", "nf4");
        assertEquals(0, e.code(), e.err());
        assertEquals(8, MAPPER.readTree(e.out()).get("sequences").asInt());
    }

    @Test
    void qloraOverAnNf4Base() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path train = TestData.preTokenized(dir, "q-train.jsonl", 8);
        CliRun t = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm", "--train",
                train.toString(), "--epochs", "1", "--batch-size", "4", "--max-length", "16", "--quantize", "nf4",
                "--target-modules", "q_proj,k_proj,v_proj,o_proj", "--out", dir.resolve("qlora").toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().startsWith("quantized 14 linear layers to NF4 (blocksize 64, double quant)\ntrainable params:"
                + " 3,584 ||"), t.err());
        assertEquals(2, MAPPER.readTree(t.out()).get("steps").asInt());
    }
}
