package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.Builtins;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Two {@code peft4j train} runs with the same {@code --seed} give bit-identical losses and adapters
 * even when the engine's generator starts elsewhere, as it does in every new process (PyTorch seeds
 * it differently each time): the fresh classifier head used to be drawn from that generator, so two
 * processes differed from step 1. Here each run starts with the generator seeded differently.
 */
class TrainDeterminismTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void sameSeedSameLossesWhateverTheEngineGeneratorHeld() throws IOException {
        Path train = TestData.reviews(dir, "train.jsonl", 32);
        List<Double> first = run(train, dir.resolve("a"), 1);
        List<Double> second = run(train, dir.resolve("b"), 2);
        assertEquals(2, first.size());
        assertEquals(first, second, "training losses of two runs with --seed 42");
        assertEquals(-1, Files.mismatch(dir.resolve("a/adapter_model.safetensors"),
                dir.resolve("b/adapter_model.safetensors")), "adapter files differ");
        // the generator does differ between the two starts (what a second process sees)
        Engine.getInstance().setRandomSeed(1);
        float a = Engine.getInstance().newBaseManager().randomNormal(new ai.djl.ndarray.types.Shape(1))
                .getFloat(0);
        Engine.getInstance().setRandomSeed(2);
        float b = Engine.getInstance().newBaseManager().randomNormal(new ai.djl.ndarray.types.Shape(1))
                .getFloat(0);
        assertNotEquals(a, b);
    }

    private static List<Double> run(Path train, Path out, int engineSeed) throws IOException {
        Engine.getInstance().setRandomSeed(engineSeed);
        CliRun r = CliRun.of(new TrainCommand(), "--model", Builtins.ALL_MINILM_L6_V2, "--task", "classify",
                "--train", train.toString(), "--max-steps", "2", "--max-length", "32", "--batch-size", "16",
                "--seed", "42", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode m = MAPPER.readTree(line);
            if (m.get("kind").asText().equals("train")) {
                losses.add(m.get("loss").asDouble());
            }
        }
        return losses;
    }
}
