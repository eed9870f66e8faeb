package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@link QloraCausalLm} on the tiny Llama and Qwen2 checkpoints (no tokenizer: pre-tokenized pairs). */
class QloraCausalLmTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama-bf16", "qwen2-f32-sharded"})
    void quantizesTrainsGeneratesMergesAndSaves(String model, @TempDir Path dir) throws Exception {
        Path out = dir.resolve("merged");
        List<String> lines = MainRun.lines(QloraCausalLm::main,
                Fixtures.fixture("tiny-causal-lm", model).toString(), "--steps", "20", "--out", out.toString());
        assertTrue(lines.get(0).matches("4-bit linear layers: 1\\d"), lines.get(0));
        assertTrue(lines.get(1).startsWith("trainable params: "), lines.get(1));
        String[] loss = lines.get(2).replaceAll("[^0-9. ]", "").trim().split(" +");
        assertTrue(Double.parseDouble(loss[1]) < Double.parseDouble(loss[0]), lines.get(2));
        assertTrue(lines.get(3).matches("generated after \\[1, 40, 41, 42\\]: \\[\\d+(, \\d+)*\\]"), lines.get(3));
        assertEquals("merged float32 model saved to " + out, lines.get(4));
        JsonNode config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("float32", config.get("torch_dtype").asText());
        assertTrue(config.get("quantization_config") == null, "the dense merge is not quantized");
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
    }

    /** A directory with {@code tokenizer.json} (a word-level one over the example's words) trains on text. */
    @Test
    void textPairsWithTokenizer(@TempDir Path dir) throws Exception {
        Path fixture = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path lm = Files.createDirectories(dir.resolve("lm"));
        Files.copy(fixture.resolve("config.json"), lm.resolve("config.json"));
        Files.copy(fixture.resolve("model.safetensors"), lm.resolve("model.safetensors"));
        Files.writeString(lm.resolve("tokenizer.json"), wordLevel());
        List<String> lines = MainRun.lines(QloraCausalLm::main, lm.toString(), "--steps", "20", "--out",
                dir.resolve("merged").toString());
        String[] loss = lines.get(2).replaceAll("[^0-9. ]", "").trim().split(" +");
        assertTrue(Double.parseDouble(loss[1]) < Double.parseDouble(loss[0]), lines.get(2));
        assertTrue(lines.get(3).startsWith("generated: ["), lines.get(3));
        assertTrue(Files.isRegularFile(dir.resolve("merged/tokenizer.json")));
    }

    /** WordLevel over whitespace-split words: the example's words, then fillers up to the 128-token vocabulary. */
    private static String wordLevel() {
        List<String> words = List.of("Q:", "What", "colour", "is", "the", "sky?", "A:", "Blue.", "grass?", "Green.",
                "do", "cows", "drink?", "Water.", "bees", "make?", "Honey.");
        StringBuilder vocab = new StringBuilder("\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2");
        for (int i = 3; i < 128; i++) {
            String w = i - 3 < words.size() ? words.get(i - 3) : "w" + i;
            vocab.append(", \"").append(w).append("\": ").append(i);
        }
        return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [],"
                + " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, \"post_processor\": null,"
                + " \"decoder\": null, \"model\": {\"type\": \"WordLevel\", \"vocab\": {" + vocab + "},"
                + " \"unk_token\": \"<unk>\"}}";
    }

    @Test
    void usageWithoutDirectory() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> QloraCausalLm.main(new String[0]));
        assertEquals("usage: QloraCausalLm DIR [--steps N] [--out OUT]", e.getMessage());
    }
}
