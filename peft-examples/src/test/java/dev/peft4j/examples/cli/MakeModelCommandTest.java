package dev.peft4j.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code make-model} writes a custom random checkpoint that {@code train --quantize nf4 --max-steps} trains. */
class MakeModelCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void customShapeTrainsTwoQloraSteps(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("model");
        CliRun make = CliRun.of(new MakeModelCommand(), "--shape", "custom", "--model-type", "qwen2", "--hidden", "64",
                "--layers", "2", "--heads", "4", "--kv-heads", "2", "--intermediate", "128", "--vocab", "300",
                "--shard-size", "40000", "--seed", "3", "--out", model.toString());
        assertEquals(0, make.code(), make.err());
        JsonNode summary = JSON.readTree(make.out());
        // embed 300x64; per layer q, o 64x64 + 64, k, v 32x64 + 32, mlp 3x128x64, 2 norms 64; norm 64; tied
        long params = 19_200 + 2 * (2 * 4096 + 64 + 2 * (2048 + 32) + 3 * 8192 + 2 * 64) + 64;
        assertEquals(params, summary.get("parameters").asLong());
        assertEquals(2 * params, summary.get("total_size").asLong());
        assertTrue(summary.get("shards").asInt() > 1);
        assertTrue(Files.exists(model.resolve("model.safetensors.index.json")));

        List<String> rows = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 3; i++) {
            rows.add(JSON.writeValueAsString(java.util.Map.of("input_ids", r.ints(16, 0, 299).boxed().toList())));
        }
        Path train = tmp.resolve("rows.jsonl");
        Files.write(train, rows);
        Path out = tmp.resolve("out");
        CliRun t = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm", "--quantize",
                "nf4", "--max-length", "16", "--batch-size", "1", "--max-steps", "2", "--lora-r", "16", "--train",
                train.toString(), "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        JsonNode result = JSON.readTree(t.out());
        assertEquals(2, result.get("steps").asInt(), "--max-steps wins over the epoch (3 rows)");
        assertTrue(Double.isFinite(result.get("final_loss").asDouble()));
        assertTrue(Files.exists(out.resolve("adapter_model.safetensors")));

        CliRun bad = CliRun.of(new MakeModelCommand(), "--shape", "llama-3-8b", "--out", tmp.resolve("x").toString());
        assertEquals(1, bad.code());
        assertEquals("error: unknown model shape 'llama-3-8b' (known: llama-2-7b, tinyllama-1.1b, qwen2.5-0.5b, or"
                + " build a custom one)", bad.err().strip());
        CliRun negative = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm",
                "--max-steps", "-1", "--train", train.toString(), "--out", tmp.resolve("o2").toString());
        assertEquals("error: --max-steps must be positive, got -1", negative.err().strip());
    }
}
