package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code train --gradient-checkpointing}: the same losses as without, LoRA dropout on. */
class GradientCheckpointingCliTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void causalLmRunGivesTheSameLosses() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            lines.add("{\"input_ids\": [1, " + (10 + i) + ", " + (11 + i) + ", " + (12 + i % 3) + ", 2]}");
        }
        Path train = Files.write(dir.resolve("train.jsonl"), lines);
        JsonNode plain = train(model, train, "plain");
        JsonNode checkpointed = train(model, train, "checkpointed", "--gradient-checkpointing");
        assertEquals(2, checkpointed.get("steps").asInt());
        assertEquals(plain.get("final_loss").asDouble(), checkpointed.get("final_loss").asDouble(), 1e-5);
        assertTrue(Files.isRegularFile(dir.resolve("checkpointed").resolve("adapter_model.safetensors")));
    }

    private JsonNode train(Path model, Path train, String out, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--task", "causal-lm",
                "--train", train.toString(), "--epochs", "1", "--batch-size", "4", "--max-length", "16",
                "--lora-dropout", "0.2", "--out", dir.resolve(out).toString()));
        args.addAll(List.of(extra));
        CliRun t = CliRun.of(new TrainCommand(), args.toArray(String[]::new));
        assertEquals(0, t.code(), t.err());
        return MAPPER.readTree(t.out());
    }
}
