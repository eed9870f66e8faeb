package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.peft.MethodRecipes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code train --task classify --method M} then {@code eval --adapter} for every method, on 24
 * fine-food reviews with the builtin MiniLM (1 epoch, 24 tokens): the saved adapter, whatever its
 * method, reproduces the trainer's final evaluation. Trainable counts by hand (6 layers, hidden 384,
 * intermediate 1536, head 384·2 + 2 = 770): LoRA 6·2·(8·384 + 384·8) + 770; IA³ 6·(384 + 384 + 1536
 * + 384) + 770 (key, value, output.dense's input, attention.output.dense's input); prompt tuning
 * 20·384 + 770; P-tuning 20·384 + (384·128 + 128) + (128·128 + 128) + (128·384 + 384) + 770; prefix
 * tuning 20·6·2·384 + 770; bottleneck (seq-bn, 384/16 = 24) 6·(384·24 + 24 + 24·384 + 384) + 770;
 * BitFit every bias, 6·(4·384 + 2·384 + 1536 + 384) + 384 (embeddings LayerNorm) + 770.
 */
class MethodsClassifyTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String MODEL = Builtins.ALL_MINILM_L6_V2;

    @TempDir static Path dir;
    private static Path train;
    private static Path test;

    @BeforeAll
    static void slices() throws IOException {
        train = TestData.reviews(dir, "train.jsonl", 24);
        test = TestData.reviews(dir, "test.jsonl", 16);
    }

    @ParameterizedTest
    @CsvSource({
        "lora,          LORA,          74498,  adapter_model.safetensors",
        "ia3,           IA3,           16898,  adapter_model.safetensors",
        "prompt-tuning, PROMPT_TUNING, 8450,   adapter_model.safetensors",
        "p-tuning,      P_TUNING,      123778, adapter_model.safetensors",
        "prefix-tuning, PREFIX_TUNING, 92930,  adapter_model.safetensors",
        "bottleneck,    BOTTLENECK,    113810, adapter.safetensors",
        "bitfit,        BITFIT,        26498,  adapter_model.safetensors"
    })
    void everyMethodTrainsAndEvalReadsItBack(String method, String peftType, long trainable, String weights)
            throws IOException {
        Path out = dir.resolve(method);
        CliRun t = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--method", method,
                "--train", train.toString(), "--eval", test.toString(), "--epochs", "1", "--max-length", "24",
                "--batch-size", "8", "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        assertEquals(method, summary.get("method").asText());
        assertEquals(trainable, summary.get("trainable_parameters").asLong());
        java.util.regex.Matcher all = java.util.regex.Pattern.compile("all params: ([0-9,]+)").matcher(t.err());
        assertTrue(all.find(), t.err());
        assertEquals(100.0 * trainable / Long.parseLong(all.group(1).replace(",", "")),
                summary.get("trainable_percent").asDouble(), 1e-12);
        // the method's default learning rate, since --lr was not given
        assertEquals(MethodRecipes.forName(method).learningRate(),
                summary.get("learning_rate").asDouble());
        assertEquals(3, summary.get("steps").asInt());
        assertTrue(Files.isRegularFile(out.resolve(weights)), weights);
        assertTrue(Files.isRegularFile(out.resolve("labels.json")));
        assertEquals(peftType, AdapterInput.readConfig(out).peftType());

        CliRun e = CliRun.of(new EvalCommand(), "--model", MODEL, "--adapter", out.toString(), "--data",
                test.toString());
        assertEquals(0, e.code(), e.err());
        JsonNode metrics = MAPPER.readTree(e.out());
        assertEquals(16, metrics.get("examples").asInt());
        assertEquals(summary.get("eval_accuracy").asDouble(), metrics.get("accuracy").asDouble(), 1e-12);
        assertEquals(summary.get("eval_loss").asDouble(), metrics.get("loss").asDouble(), 1e-6);
    }

    @Test
    void optionsOfAnotherMethodAreAnErrorNamingOptionAndMethod() {
        CliRun r = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--method", "prompt-tuning",
                "--lora-r", "4", "--train", train.toString(), "--out", dir.resolve("x").toString());
        assertEquals(1, r.code());
        assertEquals("error: --lora-r is not an option of --method prompt-tuning (it belongs to lora)",
                r.err().strip());
        r = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--num-virtual-tokens", "4",
                "--train", train.toString(), "--out", dir.resolve("x").toString());
        assertEquals(1, r.code());
        assertEquals("error: --num-virtual-tokens is not an option of --method lora (it belongs to prompt-tuning,"
                + " p-tuning, prefix-tuning)", r.err().strip());
        r = CliRun.of(new DemoCommand(), "--method", "bitfit", "--reduction-factor", "8", "--out",
                dir.resolve("demo").toString());
        assertEquals(1, r.code());
        assertEquals("error: --reduction-factor is not an option of --method bitfit (it belongs to bottleneck)",
                r.err().strip());
        assertTrue(Files.notExists(dir.resolve("demo")), "nothing written");
        r = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--method", "adalora",
                "--train", train.toString(), "--out", dir.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("Invalid value for option '--method': unknown method 'adalora' (expected"
                + " lora|ia3|prompt-tuning|p-tuning|prefix-tuning|bottleneck|bitfit)"), r.err());
        r = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--method", "prefix-tuning",
                "--encoder-hidden-size", "32", "--train", train.toString(), "--out", dir.resolve("x").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: --encoder-hidden-size needs --prefix-projection"), r.err());
        r = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--method", "prompt-tuning",
                "--prompt-init-text", "Is the review great?", "--train", train.toString(), "--out",
                dir.resolve("x").toString());
        assertEquals(1, r.code());
        assertEquals("error: --prompt-init text needs a model directory with tokenizer.json (--model " + MODEL
                + " is builtin); use --prompt-init random or sample-vocab", r.err().strip());
        assertTrue(Files.notExists(dir.resolve("x")), "nothing written");
    }

    @Test
    void methodOptionsReachTheSavedConfig() throws IOException {
        Path out = dir.resolve("options");
        CliRun t = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--method", "bottleneck",
                "--bottleneck", "double-seq-bn", "--reduction-factor", "32", "--non-linearity", "relu", "--lr", "2e-3",
                "--train", train.toString(), "--epochs", "1", "--max-length", "16", "--batch-size", "12",
                "--out", out.toString());
        assertEquals(0, t.code(), t.err());
        JsonNode summary = MAPPER.readTree(t.out());
        assertEquals(2e-3, summary.get("learning_rate").asDouble());
        // Houlsby: two sites per layer, 384/32 = 12 wide: 6·2·(384·12 + 12 + 12·384 + 384) + 770
        assertEquals(6 * 2 * (384 * 12 + 12 + 12 * 384 + 384) + 770, summary.get("trainable_parameters").asLong());
        JsonNode config = MAPPER.readTree(out.resolve("adapter_config.json").toFile()).get("config");
        assertTrue(config.get("mh_adapter").asBoolean());
        assertEquals(32, config.get("reduction_factor").asInt());
        assertEquals("relu", config.get("non_linearity").asText());

        Path bitfit = dir.resolve("bitfit-paper");
        t = CliRun.of(new TrainCommand(), "--model", MODEL, "--task", "classify", "--method", "bitfit",
                "--bias-terms", "query-intermediate", "--train", train.toString(), "--epochs", "1", "--max-length",
                "16", "--batch-size", "12", "--out", bitfit.toString());
        assertEquals(0, t.code(), t.err());
        // query (384) and intermediate (1536) biases of 6 layers + the head
        assertEquals(6 * (384 + 1536) + 770, MAPPER.readTree(t.out()).get("trainable_parameters").asLong());
    }
}
