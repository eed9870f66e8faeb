package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.Generator;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code logits} and {@code generate} run standalone on the tiny fixture models. */
class LlamaCommandsTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    /** Exit code and captured standard output and error of one run. */
    private record Run(int code, String out, String err) {}

    private static Run run(Callable<Integer> command, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = new CommandLine(command).execute(args);
            // Drop log lines (e.g. DJL's engine start-up warnings on machines without a GPU).
            String errText = err.toString(StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.matches("\\[[^]]+] (WARN|INFO|DEBUG) .*"))
                    .collect(Collectors.joining("\n"));
            return new Run(code, out.toString(StandardCharsets.UTF_8), errText);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    private static long[] greedy(Path model, long[] prompt, int n) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            return new Generator(LlamaForCausalLM.load(model, m))
                    .generate(m, prompt, GenerationConfig.builder().setMaxNewTokens(n).build()).tokens();
        }
    }

    @Test
    void logitsOfLastPositionMatchReference() throws Exception {
        for (String name : new String[] {"llama-bf16", "qwen2-f32-sharded"}) {
            Path model = Fixtures.fixture("tiny-causal-lm", name);
            JsonNode exp = MAPPER.readTree(Fixtures.fixture("tiny-causal-lm", "expected.json").toFile()).get(name);
            String ids = Arrays.stream(MAPPER.treeToValue(exp.get("ids"), long[].class))
                    .mapToObj(Long::toString).collect(Collectors.joining(","));
            Run r = run(new LogitsCommand(), "--model", model.toString(), "--ids", ids);
            assertEquals(0, r.code(), r.err());
            assertEquals("", r.err());
            assertEquals(1, r.out().lines().count(), r.out());
            double[] got = MAPPER.readValue(r.out(), double[].class);
            JsonNode last = exp.get("logits").get(exp.get("ids").size() - 1);
            assertEquals(128, got.length);
            for (int v = 0; v < got.length; v++) {
                assertEquals(last.get(v).asDouble(), got[v], 1e-4, name + " token " + v);
            }
        }
    }

    @Test
    void generatePrintsGreedyIds() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Run r = run(new GenerateCommand(), "--model", model.toString(), "--ids", "1,5,77", "--max-new-tokens", "6");
        assertEquals(0, r.code(), r.err());
        long[] got = MAPPER.readValue(r.out(), long[].class);
        assertArrayEquals(greedy(model, new long[] {1, 5, 77}, 6), got);
        assertEquals(1, r.out().lines().count(), "no tokenizer.json, no text: " + r.out());
    }

    @Test
    void generateSamplesReproduciblyWithSeed() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        String[] args = {"--model", model.toString(), "--ids", "1,5,77,30", "--max-new-tokens", "8",
            "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--seed", "7"};
        Run a = run(new GenerateCommand(), args);
        Run b = run(new GenerateCommand(), args);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        assertTrue(MAPPER.readValue(a.out(), long[].class).length >= 1);
    }

    @Test
    void generateDecodesWithTokenizerJson() throws Exception {
        Path fixture = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path model = Files.createDirectory(dir.resolve("with-tokenizer"));
        Files.copy(fixture.resolve("config.json"), model.resolve("config.json"));
        Files.copy(fixture.resolve("model.safetensors"), model.resolve("model.safetensors"));
        ObjectNode tok = MAPPER.createObjectNode();
        tok.put("version", "1.0");
        tok.putArray("added_tokens");
        tok.putObject("pre_tokenizer").put("type", "Whitespace");
        ObjectNode wordLevel = tok.putObject("model");
        wordLevel.put("type", "WordLevel");
        ObjectNode vocab = wordLevel.putObject("vocab");
        for (int i = 0; i < 128; i++) {
            vocab.put("w" + i, i);
        }
        wordLevel.put("unk_token", "w0");
        Files.writeString(model.resolve("tokenizer.json"), MAPPER.writeValueAsString(tok));

        Run r = run(new GenerateCommand(), "--model", model.toString(), "--ids", "1,5,77", "--max-new-tokens", "4");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\\R");
        assertEquals(2, lines.length, r.out());
        long[] ids = MAPPER.readValue(lines[0], long[].class);
        assertEquals(Arrays.stream(ids).mapToObj(i -> "w" + i).collect(Collectors.joining(" ")), lines[1]);
    }

    @Test
    void adapterIsRejectedWithExitCodeTwo() {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        for (Callable<Integer> c : List.<Callable<Integer>>of(new LogitsCommand(), new GenerateCommand())) {
            String[] args = c instanceof GenerateCommand
                    ? new String[] {"--model", model.toString(), "--adapter", dir.toString(), "--ids", "1",
                        "--max-new-tokens", "1"}
                    : new String[] {"--model", model.toString(), "--adapter", dir.toString(), "--ids", "1"};
            Run r = run(c, args);
            assertEquals(2, r.code());
            assertEquals("error: --adapter needs LoRA support, which arrives with the LoRA issue",
                    r.err().strip());
            assertEquals("", r.out());
        }
    }

    @Test
    void errorsAreOneLineWithExitCodeOne() {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Run badId = run(new LogitsCommand(), "--model", model.toString(), "--ids", "1,128");
        assertEquals(1, badId.code());
        assertEquals("error: token id 128 is outside the vocabulary [0, 128) of " + model, badId.err().strip());

        Run noModel = run(new LogitsCommand(), "--model", dir.toString(), "--ids", "1");
        assertEquals(1, noModel.code());
        assertEquals("error: no config.json at " + dir.resolve("config.json"), noModel.err().strip());

        Run badTemp = run(new GenerateCommand(), "--model", model.toString(), "--ids", "1",
                "--max-new-tokens", "2", "--temperature", "-1");
        assertEquals(1, badTemp.code());
        assertEquals("error: GenerationConfig: temperature must be >= 0 and finite, got -1.0", badTemp.err().strip());

        Run usage = run(new GenerateCommand(), "--model", model.toString(), "--ids", "1,x");
        assertEquals(2, usage.code());
        assertTrue(usage.err().contains("--max-new-tokens") || usage.err().contains("'x'"), usage.err());
    }

    @Test
    void helpDescribesOptions() {
        Run r = run(new GenerateCommand(), "--help");
        assertEquals(0, r.code());
        for (String option : new String[] {"--model", "--adapter", "--ids", "--max-new-tokens", "--temperature",
            "--top-k", "--top-p", "--seed"}) {
            assertTrue(r.out().contains(option), option + " in " + r.out());
        }
        assertTrue(run(new LogitsCommand(), "--help").out().contains("Usage: logits"));
    }
}
