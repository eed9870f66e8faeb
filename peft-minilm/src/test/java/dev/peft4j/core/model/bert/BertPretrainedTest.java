package dev.peft4j.core.model.bert;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.adapter.AdapterLayer;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The typed BERT models' {@code fromPretrained}, {@code embed}, {@code predict} and {@code
 * savePretrained} on the built-in MiniLM.
 */
class BertPretrainedTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TEXTS = List.of("The coffee was great.", "Stale and bitter, never again.",
            "ok", "A long review that goes on and on about the taste, the price and the delivery of the beans.");

    /** The javadoc example of {@link BertModel#fromPretrained(String)}, and the fixture's reference embeddings. */
    @Test
    void embedIsTheFixturesMeanPooledEmbedding() throws IOException {
        try (BertModel encoder = BertModel.fromPretrained("builtin:all-minilm-l6-v2")) {
            float[][] vectors = encoder.embed(List.of("a cup of coffee", "a mug of tea"));
            assertEquals(2, vectors.length);
            assertEquals(384, vectors[0].length);
        }
        JsonNode sentences = JSON.readTree(Fixtures.fixture("peft-minilm-qv", "expected.json").toFile())
                .get("sentences");
        List<String> texts = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        for (JsonNode s : sentences) {
            texts.add(s.get("text").asText());
            expected.add(JSON.treeToValue(s.get("base_mean_pooled"), double[].class));
        }
        try (BertModel encoder = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
            float[][] got = encoder.embed(texts); // one right-padded batch
            double err = 0;
            for (int i = 0; i < texts.size(); i++) {
                err = Math.max(err, maxAbsDiff(got[i], expected.get(i)));
            }
            assertTrue(err <= 1e-4, "differs from base_mean_pooled by " + err);

            float[][] unit = encoder.embed(texts, Pooling.MEAN, true);
            for (int i = 0; i < texts.size(); i++) {
                double norm = 0;
                for (float v : got[i]) {
                    norm += (double) v * v;
                }
                norm = Math.sqrt(norm);
                assertTrue(norm > 1.5, "unnormalized by default: norm " + norm);
                for (int k = 0; k < 384; k++) {
                    assertEquals(got[i][k] / norm, unit[i][k], 1e-6);
                }
            }
            assertEquals(0, encoder.embed(List.of()).length);
        }
    }

    /** 70 texts go in 3 passes of at most 32; every row equals the text embedded alone; nothing leaks. */
    @Test
    void embedBatchesLongListsAndFreesEveryPass() throws IOException {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 70; i++) {
            many.add(TEXTS.get(i % TEXTS.size()) + " #" + i);
        }
        try (BertModel encoder = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2,
                PretrainedOptions.builder().optMaxLength(32).build())) {
            NDManager owner = encoder.assets().owner().orElseThrow();
            int before = owner.getManagedArrays().size();
            float[][] all = encoder.embed(many);
            assertEquals(before, owner.getManagedArrays().size(), "arrays left behind by embed");
            for (int i : new int[] {0, 31, 32, 69}) {
                float[] alone = encoder.embed(List.of(many.get(i)))[0];
                assertTrue(maxAbsDiff(all[i], toDouble(alone)) < 1e-5, "row " + i);
            }
            assertEquals(32, encoder.tokenizer().orElseThrow().maxLength());
        }
    }

    @Test
    void closeFreesTheModelsArrays() throws IOException {
        BertModel encoder = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2);
        NDArray w = encoder.namedParameters().get("embeddings.word_embeddings.weight").getArray();
        assertFalse(w.isReleased());
        encoder.close();
        assertTrue(w.isReleased(), "close() releases the owned arrays");
    }

    /**
     * A classifier over MiniLM with a fresh head: predictions are the softmax of its logits; saved
     * and loaded back it predicts identically, with its labels and pooling from config.json.
     */
    @Test
    void classifierSavesAndLoadsBackWithIdenticalPredictions(@TempDir Path tmp) throws IOException {
        Engine.getInstance().setRandomSeed(7);
        Path dir = tmp.resolve("saved");
        List<Prediction> before;
        float[] logits;
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(
                Builtins.ALL_MINILM_L6_V2, PretrainedOptions.builder().optLabels(List.of("neg", "pos", "meh"))
                        .optPooling(Pooling.MEAN).build())) {
            assertEquals(List.of("classifier.bias", "classifier.weight"),
                    model.newlyInitialized().stream().sorted().toList());
            before = model.predict(TEXTS);
            TextTokensForTest t = TextTokensForTest.of(model, TEXTS.get(0));
            logits = t.logits;
            model.savePretrained(dir);
        }
        Prediction first = before.get(0);
        double sum = 0;
        double max = Math.max(logits[0], Math.max(logits[1], logits[2]));
        for (int k = 0; k < 3; k++) {
            sum += Math.exp(logits[k] - max);
        }
        for (int k = 0; k < 3; k++) {
            assertEquals(Math.exp(logits[k] - max) / sum, first.probabilities()[k], 1e-5);
        }
        int argmax = logits[0] >= logits[1] && logits[0] >= logits[2] ? 0 : logits[1] >= logits[2] ? 1 : 2;
        assertEquals(argmax, first.labelId());
        assertEquals(List.of("neg", "pos", "meh").get(argmax), first.label());

        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals(JSON.readTree("[\"BertForSequenceClassification\"]"), config.get("architectures"));
        assertEquals(JSON.readTree("{\"0\": \"neg\", \"1\": \"pos\", \"2\": \"meh\"}"), config.get("id2label"));
        assertEquals(JSON.readTree("{\"neg\": 0, \"pos\": 1, \"meh\": 2}"), config.get("label2id"));
        assertEquals("mean", config.get(Pooling.CONFIG_KEY).asText());
        assertEquals("float32", config.get("torch_dtype").asText());
        assertTrue(Files.isRegularFile(dir.resolve("tokenizer.json")));
        try (TensorSource w = TensorSources.open(dir)) {
            assertTrue(w.names().stream().allMatch(n -> n.startsWith("bert.") || n.startsWith("classifier.")));
            assertFalse(w.contains("bert.pooler.dense.weight"), "mean pooling needs no pooler");
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList(), "no temporary directory left");
        }

        try (BertForSequenceClassification back = BertForSequenceClassification.fromPretrained(dir.toString())) {
            assertEquals(List.of(), back.newlyInitialized());
            assertEquals(Pooling.MEAN, back.pooling());
            assertEquals(List.of("neg", "pos", "meh"), back.labels());
            assertEquals(before, back.predict(TEXTS), "identical predictions after save and load");
        }
    }

    /** The encoder saved and loaded back embeds identically; config.json says BertModel. */
    @Test
    void encoderSavesAndLoadsBack(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("enc");
        float[][] before;
        try (BertModel encoder = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
            before = encoder.embed(TEXTS);
            encoder.savePretrained(dir);
        }
        JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals(JSON.readTree("[\"BertModel\"]"), config.get("architectures"));
        try (BertModel back = BertModel.fromPretrained(dir.toString())) {
            float[][] after = back.embed(TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                assertArrayEquals(before[i], after[i], "text " + i);
            }
            // a directory defaults to max_position_embeddings, the builtin to 256
            assertEquals(512, back.tokenizer().orElseThrow().maxLength());
        }
    }

    @Test
    void saveRefusesANonEmptyTargetAndWritesNothing(@TempDir Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(dir.resolve("keep.txt"), "mine");
        try (BertModel encoder = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
            FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                    () -> encoder.savePretrained(dir));
            assertTrue(e.getMessage().contains("the output directory exists and is not empty"), e.getMessage());
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(dir.resolve("keep.txt")), s.toList());
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(dir), s.toList(), "no temporary directory left");
        }
    }

    /**
     * A layer replaced in place (as adapter injection does) takes part in predict, and
     * savePretrained refuses the unmerged adapter layer.
     */
    @Test
    void predictRunsLayersReplacedInPlace(@TempDir Path tmp) throws IOException {
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(
                Builtins.ALL_MINILM_L6_V2, PretrainedOptions.builder().optNumLabels(3).build())) {
            assertEquals(List.of("LABEL_0", "LABEL_1", "LABEL_2"), model.labels());
            model.setModule("classifier", new ConstantHead((LinearLike) model.child("classifier"),
                    new float[] {0f, 2f, 0f}));
            List<Prediction> p = model.predict(TEXTS);
            double expected = Math.exp(2) / (Math.exp(2) + 2);
            for (Prediction x : p) {
                assertEquals("LABEL_1", x.label());
                assertEquals(expected, x.probability("LABEL_1"), 1e-6);
                assertEquals(1 / (Math.exp(2) + 2), x.probability("LABEL_0"), 1e-6);
            }
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> model.savePretrained(tmp.resolve("x")));
            assertEquals("cannot save 'classifier': it is an adapter layer (ConstantHead); merge the adapter first"
                    + " (mergeAndUnload)", e.getMessage());
            assertFalse(Files.exists(tmp.resolve("x")));
        }
    }

    @Test
    void badInputNamesWhatIsWrong(@TempDir Path tmp) throws IOException {
        Path missing = tmp.resolve("nope");
        java.nio.file.NoSuchFileException e = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> BertModel.fromPretrained(missing.toString()));
        assertTrue(e.getMessage().contains("expected builtin:all-minilm-l6-v2 or a Hugging Face model directory"),
                e.getMessage());
        ConfigException tooLong = assertThrows(ConfigException.class, () -> BertModel.fromPretrained(
                Builtins.ALL_MINILM_L6_V2, PretrainedOptions.builder().optMaxLength(513).build()));
        assertTrue(tooLong.getMessage().endsWith("maxLength 513 exceeds the model's max_position_embeddings 512"),
                tooLong.getMessage());

        ObjectNode q = JSON.createObjectNode().put("model_type", "bert");
        q.putObject("quantization_config").put("quant_method", "bitsandbytes");
        ConfigException noQuant = assertThrows(ConfigException.class,
                () -> PretrainedOptions.defaults().weightLoader(HfConfig.of(q, "saved4bit/config.json")));
        assertEquals("saved4bit/config.json: the model is saved quantized (quantization_config); add"
                + " dev.peft4j:peft-quant to the class path to load it", noQuant.getMessage());

        try (NDManager m = NDManager.newBaseManager()) {
            BertModel plain = new BertModel(BertConfig.builder().setVocabSize(10).setHiddenSize(8)
                    .setNumHiddenLayers(1).setNumAttentionHeads(2).setIntermediateSize(16).build());
            IllegalStateException noTok = assertThrows(IllegalStateException.class, () -> plain.embed(List.of("x")));
            assertEquals("embed needs a tokenizer: load the model with fromPretrained", noTok.getMessage());
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** One text's logits, computed by hand through the tokenizer and forward. */
    private record TextTokensForTest(float[] logits) {
        static TextTokensForTest of(BertForSequenceClassification model, String text) {
            var t = model.tokenizer().orElseThrow().encode(text);
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray ids = m.create(new long[][] {t.ids()});
                return new TextTokensForTest(model.forward(new ParameterStore(m, false), ids, m.ones(ids.getShape()),
                        null, false).toFloatArray());
            }
        }
    }

    /** An "adapter" that adds a constant vector to its base layer's output. */
    private static final class ConstantHead extends Module implements LinearLike, AdapterLayer {
        private final LinearLike base;
        private final float[] shift;

        ConstantHead(LinearLike base, float[] shift) {
            this.base = base;
            this.shift = shift;
            registerModule("base_layer", (Module) base);
        }

        @Override public long inFeatures() { return base.inFeatures(); }
        @Override public long outFeatures() { return base.outFeatures(); }
        @Override public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
            NDArray y = base.forward(ps, x, training);
            return y.zerosLike().add(y.getManager().create(shift));
        }
        @Override public NDArray denseWeight(NDManager manager) { return base.denseWeight(manager); }
        @Override public Parameter biasParameter() { return base.biasParameter(); }
        @Override protected NDList forwardInternal(ParameterStore ps, NDList in, boolean t, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }
}
