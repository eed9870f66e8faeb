package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.Builtins;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code peft4j demo --method prompt-tuning} end to end on a small budget (the quick data, 16 tokens,
 * 2 optimizer steps): a method that cannot be merged skips the merge and export with a note, writes no
 * {@code merged/} directory, and still finishes with the adapter, the summary and the eval command,
 * whose adapter reproduces the demo's accuracy.
 */
class DemoMergeSkipTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void unmergeableMethodSkipsTheMergeAndFinishes() throws IOException {
        Path out = dir.resolve("demo");
        CliRun r = CliRun.of(new DemoCommand(), "--quick", "--method", "prompt-tuning", "--max-length", "16",
                "--max-steps", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        List<String> lines = r.out().lines().toList();
        assertEquals("peft4j demo: all-MiniLM-L6-v2 + prompt tuning on Amazon Fine Food reviews (great / other)",
                lines.get(0));
        assertEquals("training: prompt tuning 20 virtual tokens, init random + classifier head; 2 epoch(s), batch 16,"
                + " lr 0.03 (warmup 6%, linear decay), mean pooling", lines.get(4));
        assertTrue(r.out().contains("\nmerge skipped: prompt tuning adapters cannot be merged into the base weights;"
                + " the adapter directory is the result (load it with --adapter)\n"), r.out());
        assertTrue(lines.stream().noneMatch(l -> l.contains("merged model")), r.out());
        assertTrue(r.out().endsWith("evaluate the adapter again with: peft4j eval --model " + Builtins.ALL_MINILM_L6_V2
                + " --adapter " + out.resolve("adapter") + " --data " + out.resolve("data/test.jsonl") + "\n"),
                r.out());
        assertTrue(Files.notExists(out.resolve("merged")), "no merged export");
        for (String f : List.of("adapter/adapter_config.json", "adapter/adapter_model.safetensors",
                "adapter/labels.json", "adapter/metrics.jsonl", DemoCommand.SUMMARY)) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        assertEquals("PROMPT_TUNING", MAPPER.readTree(out.resolve("adapter/adapter_config.json").toFile())
                .get("peft_type").asText());
        JsonNode s = MAPPER.readTree(out.resolve(DemoCommand.SUMMARY).toFile());
        assertEquals("prompt-tuning", s.get("method").asText());
        assertTrue(s.get("merged_agreement").isNull(), s.toString());
        assertEquals(0.03, s.get("learning_rate").asDouble());
        assertEquals(2, s.get("steps").asInt());

        CliRun e = CliRun.of(new EvalCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--adapter",
                out.resolve("adapter").toString(), "--data", out.resolve("data/test.jsonl").toString());
        assertEquals(0, e.code(), e.err());
        assertEquals(s.get("accuracy").asDouble(), MAPPER.readTree(e.out()).get("accuracy").asDouble(), 1e-12);
    }
}
