package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code peft4j embed} against the fixture's base-model embeddings, options and errors. */
class EmbedCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Exit code and captured output of one run. */
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new EmbedCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** The fixture's sentences and their base-model mean-pooled embeddings. */
    static JsonNode fixture() throws IOException {
        return JSON.readTree(Fixtures.fixture("peft-minilm-qv", "expected.json").toFile()).get("sentences");
    }

    static String[] embedArgs(String model, JsonNode sentences, String... more) {
        List<String> args = new ArrayList<>(List.of("--model", model));
        for (JsonNode s : sentences) {
            args.add("--text");
            args.add(s.get("text").asText());
        }
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    private static void assertMatchesFixture(Run r, JsonNode sentences) throws IOException {
        double max = maxError(r, sentences, "base_mean_pooled");
        assertTrue(max < 1e-4, "differs by " + max);
    }

    /** Max abs difference between the printed embeddings and the fixture's {@code field}. */
    static double maxError(Run r, JsonNode sentences, String field) throws IOException {
        assertEquals(0, r.code(), r.err());
        double worst = 0;
        String[] lines = r.out().strip().split("\n");
        assertEquals(sentences.size(), lines.length, r.out());
        for (int i = 0; i < lines.length; i++) {
            JsonNode line = JSON.readTree(lines[i]);
            assertEquals(List.of("text", "embedding"), fieldNames(line));
            assertEquals(sentences.get(i).get("text").asText(), line.get("text").asText());
            JsonNode expected = sentences.get(i).get(field);
            JsonNode actual = line.get("embedding");
            assertEquals(384, actual.size());
            double max = 0;
            for (int k = 0; k < 384; k++) {
                max = Math.max(max, Math.abs(actual.get(k).asDouble() - expected.get(k).asDouble()));
            }
            worst = Math.max(worst, max);
        }
        return worst;
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void builtinMeanEmbeddingsMatchTheFixture() throws IOException {
        JsonNode sentences = fixture();
        assertMatchesFixture(run(embedArgs("builtin:all-minilm-l6-v2", sentences, "--batch-size", "1")), sentences);
    }

    @Test
    void normalizedClsEmbeddingsHaveUnitLength() throws IOException {
        Run r = run("--model", "builtin:all-minilm-l6-v2", "--pooling", "cls", "--normalize",
                "--text", "Great coffee!", "--text", "Okay.");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(2, lines.length);
        for (String l : lines) {
            JsonNode e = JSON.readTree(l).get("embedding");
            double norm = 0;
            for (JsonNode v : e) {
                norm += v.asDouble() * v.asDouble();
            }
            assertEquals(1.0, Math.sqrt(norm), 1e-5);
        }
        assertEquals("Okay.", JSON.readTree(lines[1]).get("text").asText());
    }

    /** The same model as a Hugging Face directory: config.json, model.safetensors, tokenizer.json. */
    @Test
    void huggingFaceDirectoryGivesTheSameEmbeddings(@TempDir Path dir) throws IOException {
        JsonNode sentences = fixture();
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        try (NDManager m = NDManager.newBaseManager(); TensorSource weights = builtin.openWeights()) {
            SafetensorsWriter w = SafetensorsWriter.create().metadata("format", "pt");
            for (String name : weights.names()) {
                w.add(name, weights.load(name, m));
            }
            w.write(dir.resolve("model.safetensors"));
        }
        Files.writeString(dir.resolve("config.json"), builtin.config().toString());
        Files.writeString(dir.resolve("tokenizer.json"), builtin.tokenizerJson());
        assertMatchesFixture(run(embedArgs(dir.toString(), sentences)), sentences);
    }

    /** Python PEFT's adapter on the builtin reproduces the fixture's adapted embeddings. */
    @Test
    void peftAdapterReproducesAdaptedEmbeddings() throws IOException {
        JsonNode sentences = fixture();
        Path adapter = Fixtures.fixture("peft-minilm-qv");
        Run r = run(embedArgs("builtin:all-minilm-l6-v2", sentences, "--adapter", adapter.toString()));
        assertEquals("", r.err(), "no warning: the adapter was trained on the builtin's model");
        double max = maxError(r, sentences, "mean_pooled");
        System.out.printf(Locale.ROOT, "embed --adapter peft-minilm-qv: max abs error %.2e%n", max);
        assertTrue(max < 1e-4, "differs by " + max);
    }

    @Test
    void adapterErrorsNameTheFile(@TempDir Path dir) {
        Run r = run("--model", "builtin:all-minilm-l6-v2", "--adapter", "some/dir", "--text", "x");
        assertEquals(1, r.code());
        assertEquals("error: some/dir: --adapter must be an adapter directory (PEFT: adapter_config.json +"
                + " adapter_model.safetensors; AdapterHub: adapter_config.json + adapter.safetensors)\n", r.err());
        assertEquals("", r.out());
    }

    @Test
    void errorsAreOneLineAndExitOne(@TempDir Path dir) throws IOException {
        Run r = run("--model", "builtin:nope", "--text", "x");
        assertEquals(1, r.code());
        assertEquals("error: unknown builtin model 'builtin:nope' (known: builtin:all-minilm-l6-v2)\n", r.err());

        Path missing = dir.resolve("missing");
        r = run("--model", missing.toString(), "--text", "x");
        assertEquals(1, r.code());
        assertEquals("error: " + missing + ": --model must be builtin:all-minilm-l6-v2 or a Hugging Face model"
                + " directory\n", r.err());

        r = run("--model", dir.toString(), "--text", "x");
        assertEquals(1, r.code());
        assertEquals("error: " + dir.resolve("tokenizer.json") + ": the model directory has no tokenizer.json\n",
                r.err());

        r = run("--model", "builtin:all-minilm-l6-v2", "--max-length", "1000", "--text", "x");
        assertEquals(1, r.code());
        assertEquals("error: --max-length 1000 exceeds the model's max_position_embeddings 512\n", r.err());
    }

    @Test
    void usageErrorsExitTwo() {
        Run r = run("--model", "builtin:all-minilm-l6-v2", "--pooling", "max", "--text", "x");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Invalid value for option '--pooling': expected mean or cls, got 'max'"), r.err());
        r = run("--model", "builtin:all-minilm-l6-v2");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Missing required option: '--text=T'"), r.err());
    }
}
