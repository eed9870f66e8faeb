package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.peft4j.core.testing.Fixtures;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The {@code peft4j} command line: help, inspect, demo, errors and exit codes. */
class Peft4jCliTest {

    @TempDir Path dir;

    /** Exit code and captured output of one run. */
    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    @Test
    void helpListsCommands() {
        CliRun r = run("--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Usage: peft4j"), r.out());
        assertTrue(r.out().contains("inspect"), r.out());
        assertTrue(r.out().contains("demo"), r.out());
        assertTrue(r.out().contains("--verbose"), r.out());
    }

    @Test
    void versionIsPrinted() {
        CliRun r = run("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("peft4j "), r.out());
        assertFalse(r.out().contains("${"), "version filtered by Maven: " + r.out());
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, run().code());
        CliRun missing = run("inspect");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("Missing required parameter: 'PATH'"), missing.err());
        assertEquals(2, run("--no-such-option").code());
        assertEquals(2, run("frobnicate").code());
    }

    @Test
    void inspectModelDirectory() {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        CliRun r = run("inspect", model.toString());
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        assertTrue(out.contains("model_type: llama"), out);
        assertTrue(out.contains("architectures: LlamaForCausalLM"), out);
        assertTrue(
                out.matches("(?s).*\\nmodel\\.embed_tokens\\.weight +BF16 +\\[128, 32]\\n.*"), out);
        assertTrue(
                out.matches(
                        "(?s).*\\n"
                            + "model\\.layers\\.0\\.self_attn\\.k_proj\\.weight +BF16 +\\[16,"
                            + " 32]\\n"
                            + ".*"),
                out);
        // embeddings, lm_head, 2 layers of (4 attention + 3 MLP projections + 2 norms), final norm
        long params = 2 * 128 * 32 + 2 * (2 * 32 * 32 + 2 * 16 * 32 + 3 * 96 * 32 + 2 * 32) + 32;
        assertTrue(
                out.contains(String.format("%,d parameters, %,d bytes", params, 2 * params)), out);
        assertTrue(out.contains("metadata:\n  format: pt"), out);
        assertEquals("", r.err());
    }

    @Test
    void inspectShardedAsJson() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        CliRun r = run("inspect", "--json", model.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals("qwen2", json.get("model_type").asText());
        assertEquals("Qwen2ForCausalLM", json.get("architectures").get(0).asText());
        assertEquals(2, json.get("shards").size());
        assertEquals(26, json.get("tensors").size());
        assertEquals(115840, json.get("bytes").asLong());
        assertEquals(115840 / 4, json.get("parameters").asLong());
        assertEquals("115840", json.get("metadata").get("total_size").asText());
        JsonNode first = json.get("tensors").get(0);
        assertEquals("model.embed_tokens.weight", first.get("name").asText());
        assertEquals("F32", first.get("dtype").asText());
        assertEquals("[128,32]", first.get("shape").toString());
    }

    @Test
    void inspectCorruptFileFailsWithOneLine() throws IOException {
        Path bad = Files.write(dir.resolve("bad.safetensors"), new byte[] {1, 2, 3});
        CliRun r = run("inspect", bad.toString());
        assertEquals(1, r.code());
        assertEquals("", r.out());
        assertTrue(r.err().startsWith("error: "), r.err());
        assertTrue(r.err().contains("bad.safetensors"), r.err());
        assertTrue(r.err().contains("shorter than the 8-byte header length"), r.err());
        assertEquals(1, r.err().lines().count(), "no stack trace: " + r.err());

        CliRun verbose = run("inspect", "--verbose", bad.toString());
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("\tat "), "stack trace with --verbose: " + verbose.err());
        CliRun verboseFirst = run("-v", "inspect", bad.toString());
        assertTrue(verboseFirst.err().contains("\tat "), verboseFirst.err());
    }

    @Test
    void inspectMissingPath() {
        CliRun r = run("inspect", dir.resolve("nothing-here").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: "), r.err());
        assertTrue(r.err().contains("nothing-here"), r.err());
        CliRun empty = run("inspect", dir.toString());
        assertEquals(1, empty.code());
        assertTrue(empty.err().contains("looked for model.safetensors.index.json"), empty.err());
    }

    @Test
    void demoDescribesThePlan() {
        CliRun r = run("demo", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("all-MiniLM-L6-v2"), r.out());
        assertTrue(r.out().contains("r=8"), r.out());
    }
}
