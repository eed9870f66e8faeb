package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.Generator;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code train --task causal-lm --method …} on the tiny Llama fixture (2 layers, hidden 32, 2 KV
 * heads of 8: prefix {@code token_dim} 16), then {@code eval}, {@code generate} and {@code merge}
 * with {@code --adapter}; and prompt tuning over a 4-bit base.
 */
class MethodsCausalLmTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void prefixTuningTrainsEvaluatesGeneratesAndRefusesToMerge() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path train = TestData.preTokenized(dir, "train.jsonl", 12);
        Path eval = TestData.preTokenized(dir, "eval.jsonl", 4);
        Path out = dir.resolve("prefix");
        CliRun t = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm", "--method",
                "prefix-tuning", "--num-virtual-tokens", "4", "--train", train.toString(), "--eval", eval.toString(),
                "--epochs", "2", "--batch-size", "4", "--max-length", "16", "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        // 4 virtual tokens x 2 layers x (key, value) x token_dim 16
        assertTrue(t.err().startsWith("trainable params: 256 || all"), t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        assertEquals("prefix-tuning", summary.get("method").asText());
        assertEquals(256, summary.get("trainable_parameters").asInt());
        assertEquals(1e-2, summary.get("learning_rate").asDouble());
        assertEquals(6, summary.get("steps").asInt());
        JsonNode config = MAPPER.readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("PREFIX_TUNING", config.get("peft_type").asText());
        assertEquals(2, config.get("num_layers").asInt());
        assertEquals(16, config.get("token_dim").asInt());

        CliRun e = CliRun.of(new EvalCommand(), "--model", model.toString(), "--adapter", out.toString(),
                "--data", eval.toString(), "--max-length", "16");
        assertEquals(0, e.code(), e.err());
        assertEquals(summary.get("eval_loss").asDouble(), MAPPER.readTree(e.out()).get("loss").asDouble(), 1e-5);

        long[] prompt = {1, 10, 11};
        long[] expected;
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(model, m);
            PeftModel.load(lm, out, m);
            expected = new Generator(lm).generate(m, prompt, GenerationConfig.builder().setMaxNewTokens(5).build())
                    .tokens();
        }
        CliRun g = CliRun.of(new GenerateCommand(), "--model", model.toString(), "--adapter", out.toString(),
                "--ids", "1,10,11", "--max-new-tokens", "5");
        assertEquals(0, g.code(), g.err());
        assertArrayEquals(expected, MAPPER.readValue(g.out(), long[].class));

        Path merged = dir.resolve("merged");
        CliRun mg = CliRun.of(new MergeCommand(), "--model", model.toString(), "--adapter", out.toString(), "--out",
                merged.toString());
        assertEquals(1, mg.code());
        assertEquals("error: " + out + " holds a PREFIX_TUNING adapter, which cannot be merged into the base weights"
                + " (only LORA, IA3 and BITFIT adapters merge); use it with --adapter instead", mg.err().strip());
        assertTrue(Files.notExists(merged), "nothing written");
    }

    @Test
    void promptTuningOverAnNf4Base() throws IOException {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path train = TestData.preTokenized(dir, "q-train.jsonl", 8);
        Path out = dir.resolve("qprompt");
        CliRun t = CliRun.of(new TrainCommand(), "--model", model.toString(), "--task", "causal-lm", "--method",
                "prompt-tuning", "--num-virtual-tokens", "4", "--quantize", "nf4", "--train", train.toString(),
                "--eval", train.toString(), "--epochs", "1", "--batch-size", "4", "--max-length", "16",
                "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        // 4 virtual tokens x hidden 32
        assertTrue(t.err().startsWith("quantized 14 linear layers to NF4 (blocksize 64, double quant)\ntrainable params:"
                + " 128 ||"), t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        assertEquals(2, summary.get("steps").asInt());
        assertTrue(Double.isFinite(summary.get("final_loss").asDouble()), t.out());
        CliRun e = CliRun.of(new EvalCommand(), "--model", model.toString(), "--adapter", out.toString(),
                "--data", train.toString(), "--max-length", "16", "--quantize", "nf4");
        assertEquals(0, e.code(), e.err());
        assertEquals(summary.get("eval_loss").asDouble(), MAPPER.readTree(e.out()).get("loss").asDouble(), 1e-5);
    }
}
