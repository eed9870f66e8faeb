package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.Builtins;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code peft4j demo --quick} end to end, LoRA and QLoRA: baseline, training, adapter, merged
 * export, reload.
 */
class DemoQuickTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void quickDemoEndToEnd() throws IOException {
        Path out = dir.resolve("demo");
        CliRun r = CliRun.of(new DemoCommand(), "--quick", "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        System.out.println(r.out());
        List<String> lines = r.out().lines().toList();
        assertEquals("peft4j demo: all-MiniLM-L6-v2 + LoRA on Amazon Fine Food reviews (great / other)", lines.get(0));
        assertTrue(lines.get(1).startsWith("data: 1000 training and 200 test reviews, up to 128 tokens ("),
                lines.get(1));
        assertTrue(lines.get(2).startsWith("baseline (frozen mean-pooled embeddings + logistic regression): test"
                + " accuracy 0."), lines.get(2));
        assertEquals("trainable params: 74,498 || all params: 22,639,874 || trainable%: 0.3291", lines.get(3));
        assertEquals("training: LoRA r=8 alpha=16 dropout=0.1 on query,value + classifier head; 2 epoch(s), batch 16,"
                + " lr 0.001 (warmup 6%, linear decay), mean pooling", lines.get(4));
        assertTrue(lines.get(5).startsWith("fine-tuned: test accuracy 0."), lines.get(5));
        assertTrue(lines.get(6).startsWith("training: 126 steps in "), lines.get(6));
        assertTrue(lines.get(7).endsWith("merged: same prediction as the adapted model on 100 of the first 100 test"
                + " reviews"), lines.get(7));

        JsonNode s = MAPPER.readTree(out.resolve(DemoCommand.SUMMARY).toFile());
        assertEquals(1000, s.get("train_examples").asInt());
        assertEquals(200, s.get("test_examples").asInt());
        assertEquals(2 * 63, s.get("steps").asInt());
        assertEquals(74_498, s.get("trainable_parameters").asInt());
        double accuracy = s.get("accuracy").asDouble();
        // the quick run must learn something: beat always answering the majority label (0.615 of these
        // 200 test reviews, computed from the data; 2 epochs of 1,000 reviews reached 0.80 when measured,
        // 1 epoch still answered the majority label everywhere). DemoLongTest (-Plong) asserts that the
        // full demo beats the majority class and the frozen baseline.
        double majority = majorityShare(out.resolve("data/test.jsonl"), DemoCommand.QUICK_TEST);
        assertTrue(accuracy > majority, "fine-tuned accuracy " + accuracy + " is below the majority class ("
                + majority + ") of the quick run's test reviews");
        assertEquals(String.format(java.util.Locale.ROOT, "fine-tuned: test accuracy %.4f", accuracy),
                lines.get(5).substring(0, "fine-tuned: test accuracy 0.0000".length()));
        // the merged export, reloaded from disk, classifies exactly as the adapted model
        assertEquals(100, s.get("merged_agreement").asInt());
        for (String f : List.of("adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                "adapter/labels.json", "adapter/metrics.jsonl", "adapter/training-curve.png", "merged/config.json",
                "merged/model.safetensors", "merged/tokenizer.json", "data/train.jsonl", "data/test.jsonl")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode config = MAPPER.readTree(out.resolve("merged/config.json").toFile());
        assertEquals("[\"BertForSequenceClassification\"]", config.get("architectures").toString());
        assertEquals("{\"0\":\"great\",\"1\":\"other\"}", config.get("id2label").toString());
        assertEquals("mean", config.get("peft4j_pooling").asText());

        CliRun e = CliRun.of(new EvalCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--adapter",
                out.resolve("adapter").toString(), "--data", out.resolve("data/test.jsonl").toString());
        assertEquals(0, e.code(), e.err());
        assertEquals(accuracy, MAPPER.readTree(e.out()).get("accuracy").asDouble(), 1e-12);
    }

    @Test
    void quickQloraDemoExportsTheDenseMerge() throws IOException {
        Path out = dir.resolve("qlora");
        CliRun r = CliRun.of(new DemoCommand(), "--quick", "--quantize", "nf4", "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        List<String> lines = r.out().lines().toList();
        assertEquals("peft4j demo: all-MiniLM-L6-v2 + QLoRA on Amazon Fine Food reviews (great / other)",
                lines.get(0));
        // 6 layers x (query, key, value, attention output, intermediate, output); embeddings and head stay F32
        assertEquals("base: 36 linear layers quantized to NF4 (blocksize 64, double quant) while loading, model"
                + " weights 50.8 MiB (86.1 MiB in F32)", lines.get(2));
        assertEquals("trainable params: 74,498 || all params: 22,639,874 || trainable%: 0.3291", lines.get(4));
        assertTrue(lines.get(5).startsWith("training: QLoRA (NF4 base) r=8 alpha=16"), lines.get(5));
        assertTrue(lines.get(8).endsWith("merged: same prediction as the adapted model on 100 of the first 100 test"
                + " reviews"), lines.get(8));
        assertTrue(r.out().endsWith("--data " + out.resolve("data/test.jsonl") + " --quantize nf4\n"), r.out());

        JsonNode s = MAPPER.readTree(out.resolve(DemoCommand.SUMMARY).toFile());
        assertEquals("nf4", s.get("quantize").asText());
        double majority = majorityShare(out.resolve("data/test.jsonl"), DemoCommand.QUICK_TEST);
        assertTrue(s.get("accuracy").asDouble() > majority, "QLoRA accuracy " + s.get("accuracy") + " is below"
                + " the majority class (" + majority + ") of the quick run's test reviews");
        assertEquals(100, s.get("merged_agreement").asInt());
        // the export is dense float32: no 4-bit tensors, no quantization_config
        JsonNode config = MAPPER.readTree(out.resolve("merged/config.json").toFile());
        assertTrue(config.path("quantization_config").isMissingNode(), config.toString());
        try (TensorSource merged = TensorSources.open(out.resolve("merged/model.safetensors"))) {
            for (String name : merged.names()) {
                assertEquals(DType.F32, merged.info(name).dtype(), name);
                assertTrue(!name.contains("absmax") && !name.contains("quant_"), name);
            }
        }
        // eval with the printed command (over an NF4 base again) reproduces the demo's accuracy
        CliRun e = CliRun.of(new EvalCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--adapter",
                out.resolve("adapter").toString(), "--data", out.resolve("data/test.jsonl").toString(),
                "--quantize", "nf4");
        assertEquals(0, e.code(), e.err());
        assertEquals(s.get("accuracy").asDouble(), MAPPER.readTree(e.out()).get("accuracy").asDouble(), 1e-12);
    }

    /**
     * The share of the most frequent label among the reviews of a JSONL file (the demo's test set).
     *
     * @param jsonl the file
     * @param rowsExpected how many reviews it must hold
     */
    static double majorityShare(Path jsonl, int rowsExpected) throws IOException {
        Map<String, Integer> counts = new HashMap<>();
        List<String> rows = Files.readAllLines(jsonl).stream().filter(l -> !l.isBlank()).toList();
        for (String row : rows) {
            counts.merge(MAPPER.readTree(row).get("label").asText(), 1, Integer::sum);
        }
        assertEquals(rowsExpected, rows.size(), "reviews in " + jsonl);
        return counts.values().stream().mapToInt(Integer::intValue).max().orElseThrow() / (double) rows.size();
    }

    @Test
    void majorityShareCountsTheMostFrequentLabel() throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < DemoCommand.QUICK_TEST; i++) {
            b.append("{\"text\":\"t\",\"label\":\"").append(i % 4 == 0 ? "other" : "great").append("\"}\n");
        }
        Path f = dir.resolve("t.jsonl");
        Files.writeString(f, b);
        assertEquals(0.75, majorityShare(f, DemoCommand.QUICK_TEST), 1e-12);
    }

    @Test
    void refusesAForeignNonEmptyDirectory() throws IOException {
        Files.writeString(dir.resolve("notes.txt"), "mine");
        CliRun r = CliRun.of(new DemoCommand(), "--quick", "--out", dir.toString());
        assertEquals(1, r.code());
        assertEquals("error: --out " + dir + " is not empty and holds no earlier demo run; choose another --out",
                r.err());
        assertTrue(Files.exists(dir.resolve("notes.txt")));
    }
}
