package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The full {@code peft4j demo} (4,000 training / 1,000 test reviews, about 10 minutes on 2 cores;
 * only with {@code -Plong}): the fine-tuned model beats both the majority class of the test reviews
 * (computed from the data) and the frozen-embedding baseline.
 */
class DemoLongTest {

    @TempDir Path dir;

    @Test
    void fullDemoBeatsTheMajorityClassAndTheBaseline() throws IOException {
        Path out = dir.resolve("demo");
        CliRun r = CliRun.of(new DemoCommand(), "--out", out.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        JsonNode s = new ObjectMapper().readTree(out.resolve(DemoCommand.SUMMARY).toFile());
        double accuracy = s.get("accuracy").asDouble();
        double majority = DemoQuickTest.majorityShare(out.resolve("data/test.jsonl"), 1000);
        assertTrue(accuracy > majority, "accuracy " + accuracy + " does not beat the majority class " + majority);
        assertTrue(accuracy > s.get("baseline_accuracy").asDouble(), s.toString());
    }
}
