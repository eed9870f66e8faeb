package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * {@link CompareMethods}'s {@code --seed}: the same seed repeats a run exactly, another seed gives
 * another run (adapter initialization, shuffling and dropout), and the JSON records it. Tiny budget:
 * 32 training reviews (2 steps), 32 test reviews, 32 tokens.
 */
class CompareMethodsTest {

    @Test
    void seedRepeatsARunAndAnotherSeedChangesIt(@TempDir Path dir) throws Exception {
        JsonNode a = run(dir.resolve("a.json"), "3");
        JsonNode again = run(dir.resolve("again.json"), "3");
        JsonNode other = run(dir.resolve("other.json"), "4");
        assertEquals("3", a.get("seed").asText());
        assertEquals("4", other.get("seed").asText());
        assertEquals(a.get("final_train_loss").asDouble(), again.get("final_train_loss").asDouble(), 0.0);
        assertEquals(a.get("accuracy").asDouble(), again.get("accuracy").asDouble(), 0.0);
        assertNotEquals(a.get("final_train_loss").asDouble(), other.get("final_train_loss").asDouble());
    }

    @Test
    void aSeedThatIsNotAnIntegerIsRefusedBeforeTheModelLoads(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CompareMethods.main(new String[] {"--seed", "x", "--out", dir.resolve("x.json").toString()}));
        assertEquals("--seed must be an integer, got 'x'", e.getMessage());
    }

    private static JsonNode run(Path out, String seed) throws Exception {
        MainRun.lines(CompareMethods::main, "--method", "lora", "--train", "32", "--test", "32", "--max-length", "32",
                "--seed", seed, "--out", out.toString());
        return new ObjectMapper().readTree(out.toFile());
    }
}
