package dev.peft4j.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * {@code peft4j merge}: the exported directory loads as a plain model whose outputs equal base +
 * adapter (tiny Llama via {@code logits}, MiniLM with Python PEFT's adapter via {@code embed}, a
 * MiniLM classifier via {@link BertForSequenceClassification}'s loader); errors leave no output.
 */
class MergeCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;

    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    private static List<String> files(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    private Path llamaAdapter(Path model) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(LlamaForCausalLM.load(model, m), TestAdapters.qv(null), m);
            TestAdapters.randomizeB(peft, 7, 0.5f, m);
            return TestAdapters.save(peft, dir.resolve("llama-adapter"));
        }
    }

    @Test
    void llamaMergeLoadsBackWithTheAdaptedLogits() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path adapter = llamaAdapter(model);
        Path out = dir.resolve("merged");
        CliRun r = run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("merged " + adapter + " into " + model + ": " + out + " (21 tensors, float32)\n", r.out());
        assertEquals(List.of("config.json", "model.safetensors"), files(out));
        ObjectNode expectedConfig = HfConfig.read(model).json().put("torch_dtype", "float32");
        assertEquals(expectedConfig, JSON.readTree(out.resolve("config.json").toFile()));
        try (TensorSource base = TensorSources.open(model); TensorSource merged = TensorSources.open(out)) {
            assertEquals(base.names().stream().sorted().toList(), merged.names().stream().sorted().toList());
            for (String n : merged.names()) {
                assertEquals(DType.BF16, base.info(n).dtype(), n);
                assertEquals(DType.F32, merged.info(n).dtype(), n);
            }
        }

        String ids = "1,5,77,30,2";
        CliRun adapted = run("logits", "--model", model.toString(), "--adapter", adapter.toString(), "--ids", ids);
        CliRun plain = run("logits", "--model", out.toString(), "--ids", ids);
        CliRun base = run("logits", "--model", model.toString(), "--ids", ids);
        assertEquals(0, plain.code(), plain.err());
        float[] want = JSON.readValue(adapted.out(), float[].class);
        double err = maxDiff(want, JSON.readValue(plain.out(), float[].class));
        double change = maxDiff(want, JSON.readValue(base.out(), float[].class));
        System.out.printf(Locale.ROOT, "merge llama-bf16: max abs logit error %.2e (adapter changes logits by %.3f)%n",
                err, change);
        assertTrue(err <= 1e-4, "merged logits differ by " + err);
        assertTrue(change > 0.05, "the adapter changes the logits by only " + change);
    }

    @Test
    void qloraMergeIsTheDenseMergeOverTheQuantizedBase() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path adapter = llamaAdapter(model);
        Path out = dir.resolve("merged-qlora");
        String[] q = {"--quantize", "nf4", "--blocksize", "32", "--no-double-quant"};
        CliRun r = run(concat(new String[] {"merge", "--model", model.toString(), "--adapter", adapter.toString(),
            "--out", out.toString()}, q));
        assertEquals(0, r.code(), r.err());
        assertEquals("merged " + adapter + " into " + model + " (dequantized NF4 (blocksize 32) base): " + out
                + " (21 tensors, float32)\n", r.out());
        try (TensorSource merged = TensorSources.open(out)) {
            for (String n : merged.names()) {
                assertEquals(DType.F32, merged.info(n).dtype(), n);
            }
        }
        assertTrue(JSON.readTree(out.resolve("config.json").toFile()).path("quantization_config").isMissingNode());

        String ids = "1,5,77,30,2";
        CliRun adapted = run(concat(new String[] {"logits", "--model", model.toString(), "--adapter", adapter.toString(),
            "--ids", ids}, q));
        CliRun plain = run("logits", "--model", out.toString(), "--ids", ids);
        CliRun full = run("logits", "--model", model.toString(), "--adapter", adapter.toString(), "--ids", ids);
        assertEquals(0, adapted.code(), adapted.err());
        float[] want = JSON.readValue(adapted.out(), float[].class);
        double err = maxDiff(want, JSON.readValue(plain.out(), float[].class));
        double quantization = maxDiff(want, JSON.readValue(full.out(), float[].class));
        System.out.printf(Locale.ROOT, "QLoRA merge llama-bf16: max abs logit error %.2e (4-bit base vs full"
                + " precision: %.3f)%n", err, quantization);
        assertTrue(err <= 1e-4, "merged logits differ by " + err);
        assertTrue(quantization > 100 * err, "quantizing the base changes the logits by only " + quantization);

        CliRun bad = run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--out",
                dir.resolve("never").toString(), "--blocksize", "32");
        assertEquals(1, bad.code());
        assertEquals("error: --blocksize needs --quantize nf4|fp4\n", bad.err());
        CliRun odd = run("merge", "--model", model.toString(), "--adapter", adapter.toString(), "--out",
                dir.resolve("never").toString(), "--quantize", "nf4", "--blocksize", "48");
        assertEquals(1, odd.code());
        assertTrue(odd.err().startsWith("error: --blocksize 48: QuantizationConfig: "), odd.err());
        assertTrue(Files.notExists(dir.resolve("never")));
    }

    @Test
    void llamaSavedQuantizedLoadsAsSavedAndMergesDense() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path adapter = llamaAdapter(model);
        Path q4 = dir.resolve("q4");
        CliRun q = run("quantize", "--in", model.toString(), "--out", q4.toString());
        assertEquals(0, q.code(), q.err());

        String ids = "1,5,77,30,2";
        CliRun saved = run("logits", "--model", q4.toString(), "--adapter", adapter.toString(), "--ids", ids);
        CliRun onLoad = run("logits", "--model", model.toString(), "--adapter", adapter.toString(), "--ids", ids,
                "--quantize", "nf4");
        assertEquals(0, saved.code(), saved.err());
        assertEquals(onLoad.out(), saved.out(), "the saved NF4 model is the one quantized on load");

        Path out = dir.resolve("merged-from-q4");
        CliRun r = run("merge", "--model", q4.toString(), "--adapter", adapter.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("merged " + adapter + " into " + q4 + ": " + out + " (21 tensors, float32)\n", r.out());
        assertTrue(JSON.readTree(out.resolve("config.json").toFile()).path("quantization_config").isMissingNode());
        CliRun plain = run("logits", "--model", out.toString(), "--ids", ids);
        double err = maxDiff(JSON.readValue(saved.out(), float[].class), JSON.readValue(plain.out(), float[].class));
        assertTrue(err <= 1e-4, "merged logits differ by " + err);

        CliRun again = run("logits", "--model", q4.toString(), "--ids", ids, "--quantize", "fp4");
        assertEquals(1, again.code());
        assertEquals("error: " + q4.resolve("config.json") + ": the model is saved quantized (quantization_config:"
                + " nf4) and loads as it is; quantizing it again (fp4) is not possible\n", again.err());
    }

    @Test
    void bertSavedQuantizedMergesAsQuantizeOnLoadDoes() throws Exception {
        Path adapter = Fixtures.fixture("peft-minilm-qv");
        Path bert = dir.resolve("minilm-dense");
        assertEquals(0, run("merge", "--model", Builtins.ALL_MINILM_L6_V2, "--adapter", adapter.toString(), "--out",
                bert.toString()).code());
        Path bertQ4 = dir.resolve("minilm-q4");
        assertEquals(0, run("quantize", "--in", bert.toString(), "--out", bertQ4.toString()).code());

        Path fromSaved = dir.resolve("from-saved");
        CliRun r = run("merge", "--model", bertQ4.toString(), "--adapter", adapter.toString(), "--out",
                fromSaved.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(JSON.readTree(fromSaved.resolve("config.json").toFile()).path("quantization_config").isMissingNode());
        Path onLoad = dir.resolve("on-load");
        r = run("merge", "--model", bert.toString(), "--adapter", adapter.toString(), "--out", onLoad.toString(),
                "--quantize", "nf4");
        assertEquals(0, r.code(), r.err());

        String text = "This green tea is wonderful.";
        CliRun a = run("embed", "--model", fromSaved.toString(), "--text", text);
        CliRun b = run("embed", "--model", onLoad.toString(), "--text", text);
        CliRun adapted = run("embed", "--model", bertQ4.toString(), "--adapter", adapter.toString(), "--text", text);
        assertEquals(0, adapted.code(), adapted.err());
        assertEquals(a.out(), b.out(), "the saved NF4 directory is the one quantized on load");
        double err = maxDiff(embedding(adapted), embedding(a));
        System.out.printf(Locale.ROOT, "merge of a saved-NF4 MiniLM: embed error vs the adapted 4-bit model %.2e%n",
                err);
        assertTrue(err <= 1e-5, "merged embedding differs by " + err);

        CliRun twice = run("embed", "--model", bertQ4.toString(), "--text", text, "--quantize", "nf4");
        assertEquals(1, twice.code());
        assertEquals("error: " + bertQ4.resolve("config.json") + ": the model is saved quantized (quantization_config:"
                + " nf4) and loads as it is; quantizing it again (nf4) is not possible\n", twice.err());
    }

    private static float[] embedding(CliRun r) throws IOException {
        return JSON.readValue(JSON.readTree(r.out().lines().findFirst().orElseThrow()).get("embedding").toString(),
                float[].class);
    }

    private static String[] concat(String[] a, String[] b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    @Test
    void errorsLeaveNoOutput() throws Exception {
        Path model = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        Path full = Files.createDirectory(dir.resolve("full"));
        Files.writeString(full.resolve("x"), "x");
        Path minilm = Fixtures.fixture("peft-minilm-qv");
        CliRun r = run("merge", "--model", model.toString(), "--adapter", minilm.toString(), "--out", full.toString());
        assertEquals(1, r.code());
        assertEquals("error: " + full + ": the output directory exists and is not empty\n", r.err());

        Path out = dir.resolve("out");
        r = run("merge", "--model", model.toString(), "--adapter", minilm.toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().lines().reduce((a, b) -> b).orElseThrow().startsWith("error: "
                + minilm.resolve("adapter_config.json") + ": target_modules [query, value] matched no module of"
                + " LlamaForCausalLM"), r.err());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "temporary directory removed");
        }

    }

    @Test
    void miniLmMergeReproducesPythonPeftEmbeddings() throws Exception {
        JsonNode sentences = EmbedCommandTest.fixture();
        Path adapter = Fixtures.fixture("peft-minilm-qv");
        Path out = dir.resolve("minilm-merged");
        CliRun r = run("merge", "--model", Builtins.ALL_MINILM_L6_V2, "--adapter", adapter.toString(),
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json"), files(out));
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        assertEquals(builtin.config(), JSON.readTree(out.resolve("config.json").toFile()));
        assertEquals(builtin.tokenizerJson(), Files.readString(out.resolve("tokenizer.json")));

        EmbedCommandTest.Run e = EmbedCommandTest.run(EmbedCommandTest.embedArgs(out.toString(), sentences));
        double err = EmbedCommandTest.maxError(e, sentences, "mean_pooled");
        System.out.printf(Locale.ROOT, "merge peft-minilm-qv: embed --model OUT max abs error %.2e%n", err);
        assertTrue(err <= 1e-4, "merged embeddings differ by " + err);
    }

    /** The pooling the adapter was trained with (labels.json) survives the export and the reload. */
    @ParameterizedTest
    @EnumSource(value = Pooling.class, names = {"POOLER", "MEAN"})
    void classifierAdapterExportsBertForSequenceClassification(Pooling pooling) throws Exception {
        long[][] ids = {{101, 2023, 5572, 2003, 6919, 1012, 102}};
        Path adapter = dir.resolve("cls-adapter");
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        float[] want;
        try (NDManager m = NDManager.newBaseManager(); TensorSource weights = builtin.openWeights()) {
            BertForSequenceClassification cls = BertForSequenceClassification.loader()
                    .setCheckpoint(weights, HfConfig.of(builtin.config(), builtin.id())).setManager(m)
                    .optLabels(List.of("great", "other", "meh")).optPooling(pooling).load();
            PeftModel<?> peft = PeftModel.wrap(cls, LoraConfig.builder().setTargetModules("query", "value")
                    .optR(4).optLoraAlpha(8).optTaskType("SEQ_CLS").build(), m);
            TestAdapters.randomizeB(peft, 3, 0.2f, m);
            peft.save(adapter);
            Files.writeString(adapter.resolve("labels.json"), "{\"labels\": [\"great\", \"other\", \"meh\"],"
                    + " \"pooling\": \"" + pooling.name().toLowerCase(Locale.ROOT) + "\"}");
            NDArray x = m.create(ids);
            want = cls.forward(new ParameterStore(m, false), x, m.ones(x.getShape()), null, false).toFloatArray();
        }
        Path out = dir.resolve("cls-merged");
        CliRun r = run("merge", "--model", Builtins.ALL_MINILM_L6_V2, "--adapter", adapter.toString(),
                "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals(JSON.readTree("[\"BertForSequenceClassification\"]"), config.get("architectures"));
        assertEquals(JSON.readTree("{\"0\": \"great\", \"1\": \"other\", \"2\": \"meh\"}"), config.get("id2label"));
        assertEquals(JSON.readTree("{\"great\": 0, \"other\": 1, \"meh\": 2}"), config.get("label2id"));
        assertEquals(pooling == Pooling.MEAN ? "mean" : null,
                config.has(Pooling.CONFIG_KEY) ? config.get(Pooling.CONFIG_KEY).asText() : null);
        try (TensorSource merged = TensorSources.open(out)) {
            assertTrue(merged.names().stream().allMatch(n -> n.startsWith("bert.") || n.startsWith("classifier.")),
                    merged.names().toString());
            assertEquals(pooling == Pooling.POOLER, merged.contains("bert.pooler.dense.weight"));
            assertEquals(List.of(3L, 384L), List.of(merged.info("classifier.weight").shape()[0],
                    merged.info("classifier.weight").shape()[1]));
        }
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification back = BertForSequenceClassification.loader().setModelDir(out)
                    .setManager(m).load();
            assertEquals(List.of(), back.newlyInitialized());
            assertEquals(pooling, back.pooling(), "the loader reads the recorded pooling");
            assertEquals(List.of("great", "other", "meh"), back.labels());
            NDArray x = m.create(ids);
            float[] got = back.forward(new ParameterStore(m, false), x, m.ones(x.getShape()), null, false)
                    .toFloatArray();
            double err = maxDiff(want, got);
            System.out.printf(Locale.ROOT, "merge SEQ_CLS MiniLM (%s): max abs logit error %.2e%n", pooling, err);
            assertTrue(err <= 1e-4, "classifier logits differ by " + err);
        }
    }
}
