package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.Builtins;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code train} then {@code eval} on 64 fine-food reviews with the builtin MiniLM (1 epoch, 32
 * tokens). Trainable: LoRA r=8 on query and value of 6 layers (6 × 2 × (8·384 + 384·8) = 73,728)
 * plus the classifier head copy (384·2 + 2 = 770).
 */
class ClassifyTrainEvalTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String MODEL = Builtins.ALL_MINILM_L6_V2;

    @TempDir static Path dir;
    private static Path train;
    private static Path test;

    @BeforeAll
    static void slices() throws IOException {
        train = TestData.reviews(dir, "train.jsonl", 64);
        test = TestData.reviews(dir, "test.jsonl", 32);
    }

    @Test
    void trainsSavesAndEvaluatesTheSameAdapter() throws IOException {
        Path out = dir.resolve("run");
        CliRun t = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--train", train.toString(),
                "--eval", test.toString(), "--epochs", "1", "--max-length", "32", "--batch-size", "16",
                "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().startsWith("trainable params: 74,498 || all params: 22,639,874 || trainable%: 0.3291"),
                t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        assertEquals(64, summary.get("train_examples").asInt());
        assertEquals(4, summary.get("steps").asInt());
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors", "labels.json", "metrics.jsonl",
                "training-curve.png")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode labels = MAPPER.readTree(out.resolve("labels.json").toFile());
        assertEquals("[\"great\",\"other\"]", labels.get("labels").toString());
        assertEquals("32", labels.get("max_length").asText());
        JsonNode config = MAPPER.readTree(out.resolve("adapter_config.json").toFile());
        assertEquals(8, config.get("r").asInt());
        assertEquals("[\"classifier\"]", config.get("modules_to_save").toString());
        assertEquals("SEQ_CLS", config.get("task_type").asText());

        CliRun e = CliRun.of(new EvalCommand(), "--model", MODEL, "--adapter", out.toString(), "--data",
                test.toString());
        assertEquals(0, e.code(), e.err());
        JsonNode metrics = MAPPER.readTree(e.out());
        assertEquals("classify", metrics.get("task").asText());
        assertEquals(32, metrics.get("examples").asInt());
        // the saved adapter reproduces the trainer's own final evaluation
        assertEquals(summary.get("eval_accuracy").asDouble(), metrics.get("accuracy").asDouble(), 1e-12);
        assertEquals(summary.get("eval_macro_f1").asDouble(), metrics.get("macro_f1").asDouble(), 1e-12);
        assertEquals(summary.get("eval_loss").asDouble(), metrics.get("loss").asDouble(), 1e-5);
        // one epoch, one evaluation: best/ is the final adapter, in PEFT format with labels.json
        CliRun b = CliRun.of(new EvalCommand(), "--model", MODEL, "--adapter", out.resolve("best").toString(),
                "--data", test.toString());
        assertEquals(0, b.code(), b.err());
        assertEquals(metrics.get("accuracy").asDouble(), MAPPER.readTree(b.out()).get("accuracy").asDouble(), 1e-12);
        assertEquals(metrics.get("loss").asDouble(), MAPPER.readTree(b.out()).get("loss").asDouble(), 1e-6);

        CliRun again = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--train",
                train.toString(), "--epochs", "1", "--max-length", "32", "--out", out.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().endsWith("error: --out " + out + " already holds a run: pass --resume to continue it"
                + " or choose another --out"), again.err());
    }

    @Test
    void unknownLabelInEvalDataNamesFileAndLine() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"fine\", \"label\": \"great\"}\n"
                + "{\"text\": \"meh\", \"label\": \"so-so\"}\n");
        CliRun t = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--train", train.toString(),
                "--eval", bad.toString(), "--out", dir.resolve("bad-run").toString());
        assertEquals(1, t.code());
        assertEquals("error: bad.jsonl line 2: unknown label 'so-so' (labels: [great, other])", t.err());
    }

    @Test
    void usageErrors() {
        CliRun q = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--train", "x.jsonl",
                "--quantize", "int8", "--out", "o");
        assertEquals(2, q.code());
        assertTrue(q.err().startsWith("Invalid value for option '--quantize': expected nf4 or fp4, got 'int8'"),
                q.err());
        CliRun t = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "regress", "--train", "x.jsonl",
                "--out", "o");
        assertEquals(2, t.code());
        assertTrue(t.err().startsWith("Invalid value for option '--task': expected classify or causal-lm, got"
                + " 'regress'"), t.err());
        CliRun e = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--train", "x.jsonl",
                "--epochs", "0", "--out", "o");
        assertEquals(1, e.code());
        assertEquals("error: --epochs must be positive, got 0", e.err());
    }
}
