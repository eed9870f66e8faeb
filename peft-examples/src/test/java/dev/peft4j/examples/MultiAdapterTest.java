package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@link MultiAdapter}: switching, the disabled scope, deleting, saving and reloading two adapters. */
class MultiAdapterTest {

    @Test
    void switchesDisablesDeletesSavesAndReloads(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("adapters");
        List<String> lines = MainRun.lines(MultiAdapter::main, "--out", out.toString());
        assertEquals("adapters [default, ffn, scratch], active: default", lines.get(0));
        double attention = distance(lines.get(1));
        double ffn = distance(lines.get(2));
        assertTrue(attention > 0.1 && ffn > 0.1 && Math.abs(attention - ffn) > 1e-3, lines.get(1) + lines.get(2));
        assertTrue(lines.get(2).startsWith("ffn (dense layers)"), lines.get(2));
        assertEquals("adapters disabled        distance to the base embedding 0.0000", lines.get(3));
        assertEquals("saved [default, ffn] to " + out, lines.get(4));
        assertEquals("reloaded [default, ffn]; default adapter differs from before by 0.0e+00", lines.get(5));
        assertTrue(Files.isRegularFile(out.resolve("adapter_config.json")));
        assertTrue(Files.isRegularFile(out.resolve("ffn/adapter_model.safetensors")));
        assertFalse(Files.exists(out.resolve("scratch")));
    }

    private static double distance(String line) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
}
