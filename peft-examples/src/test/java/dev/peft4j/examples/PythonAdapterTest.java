package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@link PythonAdapter} with the adapter that Python PEFT made for all-MiniLM-L6-v2 (shared fixture). */
class PythonAdapterTest {

    @Test
    void runsMergesAndSavesThePythonAdapter(@TempDir Path dir) throws Exception {
        Path adapter = Fixtures.fixture("peft-minilm-qv");
        Path out = dir.resolve("merged");
        List<String> lines = MainRun.lines(PythonAdapter::main, "builtin:all-minilm-l6-v2", adapter.toString(),
                "--out", out.toString());
        assertEquals(8, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).startsWith("base    \"This tea is wonderful.\": ["), lines.get(0));
        assertTrue(lines.get(2).contains("r=2") && lines.get(2).contains("target_modules=[query, value]"),
                lines.get(2));
        // the adapter changes the embedding; the merged model reproduces the adapted one
        assertNotEquals(vector(lines.get(0)), vector(lines.get(3)));
        assertEquals(vector(lines.get(3)), vector(lines.get(5)));
        assertEquals(vector(lines.get(4)), vector(lines.get(6)));
        assertTrue(lines.get(7).startsWith("merged model saved to " + out), lines.get(7));
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")));
    }

    @Test
    void usageWithoutArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PythonAdapter.main(new String[] {"builtin:all-minilm-l6-v2"}));
        assertEquals("usage: PythonAdapter BASE ADAPTER [--out OUT]", e.getMessage());
    }

    private static String vector(String line) {
        return line.substring(line.indexOf('['));
    }
}
