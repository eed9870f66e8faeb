package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdapterHub's own directories ({@code seqbn-minilm}: Pfeiffer, {@code dseqbn-minilm}: Houlsby)
 * load through {@code PeftModel.load} on the built-in MiniLM, reproduce AdapterHub's mean-pooled
 * embeddings, and save back in AdapterHub's format.
 */
class BottleneckFixtureLoadTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Worst |difference| from {@code mean} and {@code base_mean} over the fixture's sentences. */
    private record Errors(double adapted, double base, List<float[]> embeddings) {}

    private static Errors embed(BertModel bert, PeftModel<BertModel> peft, String fixture) throws IOException {
        JsonNode sentences = JSON.readTree(Fixtures.fixture("peft-methods", "expected.json").toFile())
                .get(fixture).get("sentences");
        double adapted = 0;
        double base = 0;
        List<float[]> out = new ArrayList<>();
        try (NDManager m = NDManager.newBaseManager()) {
            ParameterStore ps = new ParameterStore(m, false);
            for (JsonNode s : sentences) {
                long[] ids = new long[s.get("ids").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = s.get("ids").get(i).asLong();
                }
                NDArray x = m.create(ids).expandDims(0);
                float[] got = bert.embed(ps, x, null).toFloatArray();
                out.add(got);
                adapted = Math.max(adapted, maxAbsDiff(got, JSON.treeToValue(s.get("mean"), double[].class)));
                try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
                    float[] plain = bert.embed(ps, x, null).toFloatArray();
                    base = Math.max(base, maxAbsDiff(plain, JSON.treeToValue(s.get("base_mean"), double[].class)));
                }
            }
        }
        return new Errors(adapted, base, out);
    }

    @Test
    void seqBnPfeifferLoadsAndReproducesAdapterHub(@TempDir Path tmp) throws IOException {
        check("seqbn-minilm", "reviews", 6, tmp);
    }

    @Test
    void doubleSeqBnHoulsbyLoadsAndReproducesAdapterHub(@TempDir Path tmp) throws IOException {
        check("dseqbn-minilm", "food_houlsby", 12, tmp);
    }

    private void check(String fixture, String name, int sites, Path tmp) throws IOException {
        Path dir = Fixtures.fixture("peft-methods", fixture);
        List<float[]> first;
        try (BertModel bert = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
            PeftModel<BertModel> peft = PeftModel.load(bert, dir);
            assertEquals("BOTTLENECK", peft.method().peftType());
            BottleneckConfig cfg = peft.config("default", BottleneckConfig.class);
            assertEquals(name, cfg.name());
            assertEquals(384, cfg.hiddenSize());
            assertEquals(sites, peft.targetPaths("default").size());
            assertEquals("encoder.layer.0.output.adapters.default", peft.targetPaths("default").get(sites / 6 - 1));
            assertEquals(0, peft.trainableParameters().trainable(), "loaded in inference mode");
            Errors e = embed(bert, peft, fixture);
            System.out.printf("%s: max |diff| adapted %.3g, base %.3g%n", fixture, e.adapted(), e.base());
            assertTrue(e.adapted() <= 2e-4, fixture + ": adapted embeddings differ by " + e.adapted());
            assertTrue(e.base() <= 2e-4, fixture + ": disabled adapters give the base, off by " + e.base());
            first = e.embeddings();

            // save: AdapterHub's files, config byte for byte, the same keys and values
            Path out = tmp.resolve("saved");
            peft.save(out);
            assertEquals(Files.readString(dir.resolve("adapter_config.json")),
                    Files.readString(out.resolve("adapter_config.json")));
            assertFalse(Files.exists(out.resolve("adapter_model.safetensors")));
            try (TensorSource want = TensorSources.open(dir.resolve("adapter.safetensors"));
                    TensorSource got = TensorSources.open(out.resolve("adapter.safetensors"));
                    NDManager m = NDManager.newBaseManager()) {
                assertEquals(new TreeSet<>(want.names()), new TreeSet<>(got.names()));
                assertTrue(want.names().contains("encoder.layer.5.output.adapters." + name + ".adapter_up.bias"));
                for (String k : want.names()) {
                    assertArrayEquals(want.load(k, m).toFloatArray(), got.load(k, m).toFloatArray(), 0f, k);
                }
            }
            Path saved = out;
            try (BertModel fresh = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
                PeftModel<BertModel> again = PeftModel.load(fresh, saved);
                List<float[]> second = embed(fresh, again, fixture).embeddings();
                for (int i = 0; i < first.size(); i++) {
                    assertArrayEquals(first.get(i), second.get(i), 0f, "sentence " + i + " after a round trip");
                }
            }

            // not mergeable: a clear error, nothing changed
            String msg = assertThrows(UnsupportedOperationException.class, peft::merge).getMessage();
            assertTrue(msg.startsWith("bottleneck adapters (AdapterHub) cannot be merged"), msg);
            assertThrows(UnsupportedOperationException.class, peft::mergeAndUnload);
            assertArrayEquals(first.get(0), embed(bert, peft, fixture).embeddings().get(0), 0f);

            // unload: the plain base again, no adapter modules left
            BertModel plain = peft.unload();
            assertTrue(plain.hooks().isEmpty());
            assertTrue(plain.namedParameters().keySet().stream().noneMatch(k -> k.contains(".adapters.")));
        }
    }

    /**
     * AdapterHub keys carry the base-model prefix unless saved from the bare base class: the
     * fixture as {@code BertAdapterModel} would save it ({@code bert.encoder…}) loads onto a
     * {@code BertModel} with the same embeddings, and saves back with its own keys.
     */
    @Test
    void keysSavedFromAnAdapterModelClassLoadOntoTheBareModel(@TempDir Path tmp) throws IOException {
        Path dir = Fixtures.fixture("peft-methods", "seqbn-minilm");
        Path in = Files.createDirectories(tmp.resolve("adapter-model"));
        Files.writeString(in.resolve("adapter_config.json"), Files.readString(dir.resolve("adapter_config.json"))
                .replace("\"model_class\": \"BertModel\"", "\"model_class\": \"BertAdapterModel\""));
        try (TensorSource src = TensorSources.open(dir.resolve("adapter.safetensors"));
                NDManager m = NDManager.newBaseManager()) {
            dev.peft4j.core.io.SafetensorsWriter w = dev.peft4j.core.io.SafetensorsWriter.create();
            for (String k : src.names()) {
                w.add("bert." + k, src.load(k, m));
            }
            w.write(in.resolve("adapter.safetensors"));
        }
        try (BertModel bert = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
            PeftModel<BertModel> peft = PeftModel.load(bert, in);
            Errors e = embed(bert, peft, "seqbn-minilm");
            assertTrue(e.adapted() <= 2e-4, "differs by " + e.adapted());
            peft.save(tmp.resolve("out"));
            try (TensorSource got = TensorSources.open(tmp.resolve("out").resolve("adapter.safetensors"));
                    TensorSource want = TensorSources.open(in.resolve("adapter.safetensors"))) {
                assertEquals(new TreeSet<>(want.names()), new TreeSet<>(got.names()));
            }
        }
        BottleneckConfig llama = BottleneckConfig.seqBn().optModelType("llama").optModelClass("LlamaModel").build();
        assertEquals("layers.0.output_adapters", BottleneckMethod.filePath("model.layers.0.output_adapters", llama));
        BottleneckConfig lm = llama.toBuilder().optModelClass("LlamaForCausalLM").build();
        assertEquals("model.layers.0.output_adapters", BottleneckMethod.filePath("model.layers.0.output_adapters", lm));
    }

    @Test
    void anAdapterForAnotherHiddenSizeFailsBeforeAnythingChanges(@TempDir Path tmp) throws IOException {
        Path dir = Fixtures.fixture("peft-methods", "seqbn-minilm");
        Files.copy(dir.resolve("adapter.safetensors"), tmp.resolve("adapter.safetensors"));
        Files.writeString(tmp.resolve("adapter_config.json"),
                Files.readString(dir.resolve("adapter_config.json")).replace("\"hidden_size\": 384", "\"hidden_size\": 768"));
        try (BertModel bert = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
            int params = bert.namedParameters().size();
            String msg = assertThrows(IllegalArgumentException.class, () -> PeftModel.load(bert, tmp)).getMessage();
            assertEquals("hidden_size is 768 in the adapter config (made for sentence-transformers/all-MiniLM-L6-v2)"
                    + " but the model's hidden size is 384", msg);
            assertEquals(params, bert.namedParameters().size());
            assertTrue(bert.hooks().isEmpty());
        }
    }

    @Test
    void thePickleWeightsAreRefusedWithTheConversion(@TempDir Path tmp) throws IOException {
        Files.copy(Fixtures.fixture("peft-methods", "seqbn-minilm", "adapter_config.json"),
                tmp.resolve("adapter_config.json"));
        Files.write(tmp.resolve("pytorch_adapter.bin"), new byte[] {(byte) 0x80, 2});
        try (BertModel bert = BertModel.fromPretrained(Builtins.ALL_MINILM_L6_V2)) {
            String msg = assertThrows(IllegalArgumentException.class, () -> PeftModel.load(bert, tmp)).getMessage();
            assertTrue(msg.startsWith(tmp.toAbsolutePath() + " holds AdapterHub's pickle weights pytorch_adapter.bin"), msg);
            assertTrue(msg.contains("import torch, safetensors.torch as st\n"), msg);
            assertTrue(msg.contains("st.save_file({k: v.contiguous() for k, v in torch.load(\"pytorch_adapter.bin\","
                    + " map_location=\"cpu\", weights_only=True).items()}, \"adapter.safetensors\")"), msg);
            assertTrue(bert.hooks().isEmpty());
        }
    }
}
