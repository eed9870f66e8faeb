package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PEFT's prompt-tuning and prefix-tuning adapters of the tiny Llama ({@code
 * shared/fixtures/peft-methods/prompt-llama}, {@code prefix-llama}) through {@link PeftModel#load}:
 * the last position's logits with and without the adapter match PEFT's to 1e-3; save → load keeps
 * them bit for bit; PEFT's file layout; merge and mismatched configs fail clearly.
 */
class PromptFixturesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private NDManager manager;

    @TempDir Path dir;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private LlamaForCausalLM llama() throws IOException {
        return LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), manager);
    }

    static JsonNode expected(String name) throws IOException {
        return JSON.readTree(Fixtures.fixture("peft-methods", "expected.json").toFile()).get(name);
    }

    private float[] lastLogits(LlamaForCausalLM lm, long[] ids) {
        return lm.forward(new ParameterStore(manager, false), manager.create(ids).reshape(1, ids.length), null, null,
                null, false, 1).logits().toFloatArray();
    }

    static long[] ids(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }

    static double maxDiff(float[] got, JsonNode want) {
        assertEquals(want.size(), got.length);
        double d = 0;
        for (int i = 0; i < got.length; i++) {
            d = Math.max(d, Math.abs(got[i] - want.get(i).asDouble()));
        }
        return d;
    }

    /** Loads a fixture, checks PEFT's logits with and without it; returns the adapted logits. */
    private float[] checkFixture(String name, Class<?> config) throws IOException {
        JsonNode exp = expected(name);
        long[] ids = ids(exp.get("ids"));
        LlamaForCausalLM lm = llama();
        PeftModel<LlamaForCausalLM> peft = PeftModel.load(lm, Fixtures.fixture("peft-methods", name));
        assertEquals(config, peft.config("default").getClass());
        float[] got = lastLogits(lm, ids);
        double diff = maxDiff(got, exp.get("last_logits"));
        System.out.printf("%s: max |logit - PEFT| = %.3g%n", name, diff);
        assertTrue(diff <= 1e-3, name + " max diff " + diff);
        try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
            double base = maxDiff(lastLogits(lm, ids), exp.get("base_last_logits"));
            System.out.printf("%s base: max |logit - PEFT| = %.3g%n", name, base);
            assertTrue(base <= 1e-3, "base max diff " + base);
        }
        assertTrue(maxDiff(got, exp.get("base_last_logits")) > 0.1, "the adapter changes the logits");
        assertEquals(0, peft.trainableParameters().trainable(), "loaded for inference, as PEFT");

        Path saved = dir.resolve(name);
        peft.save(saved);
        try (TensorSource src = TensorSources.open(saved.resolve("adapter_model.safetensors"));
                TensorSource ref = TensorSources.open(Fixtures.fixture("peft-methods", name,
                        "adapter_model.safetensors"))) {
            assertEquals(Set.of("prompt_embeddings"), Set.copyOf(src.names()));
            assertArrayEquals(ref.info("prompt_embeddings").shape(), src.info("prompt_embeddings").shape());
            assertArrayEquals(ref.load("prompt_embeddings", manager).toFloatArray(),
                    src.load("prompt_embeddings", manager).toFloatArray(), 0f);
        }
        ObjectNode ours = (ObjectNode) JSON.readTree(saved.resolve("adapter_config.json").toFile());
        ObjectNode theirs = (ObjectNode) JSON.readTree(Fixtures.fixture("peft-methods", name, "adapter_config.json")
                .toFile());
        theirs.remove("peft_version");
        assertEquals(theirs, ours, "the config PEFT wrote, field for field (peft_version aside)");
        assertFalse(Files.readString(saved.resolve("adapter_config.json")).endsWith("\n"), "no trailing newline");

        LlamaForCausalLM again = llama();
        PeftModel.load(again, saved);
        assertArrayEquals(got, lastLogits(again, ids), 0f, "save → load gives identical logits");
        return got;
    }

    @Test
    void promptTuningFixtureReproducesPeft() throws IOException {
        checkFixture("prompt-llama", PromptTuningConfig.class);
    }

    @Test
    void prefixTuningFixtureReproducesPeft() throws IOException {
        checkFixture("prefix-llama", PrefixTuningConfig.class);
    }

    @Test
    void generationRunsThePromptInThePrefill() throws IOException {
        LlamaForCausalLM lm = llama();
        long[] prompt = {1, 42, 17, 25};
        long[] plain = lm.generateIds(List.of(prompt), greedy(5)).get(0).tokens();
        PeftModel<LlamaForCausalLM> peft = PeftModel.load(lm, Fixtures.fixture("peft-methods", "prompt-llama"));
        long[] prompted = lm.generateIds(List.of(prompt), greedy(5)).get(0).tokens();
        // the first generated token is the argmax of the adapted last-position logits
        float[] last = lastLogits(lm, prompt);
        assertEquals(argmax(last), prompted[0]);
        try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
            assertArrayEquals(plain, lm.generateIds(List.of(prompt), greedy(5)).get(0).tokens());
        }
        PeftModel<LlamaForCausalLM> prefix = PeftModel.load(llama(), Fixtures.fixture("peft-methods", "prefix-llama"));
        LlamaForCausalLM plm = prefix.baseModel();
        assertEquals(argmax(lastLogits(plm, prompt)), plm.generateIds(List.of(prompt), greedy(1)).get(0).tokens()[0]);
    }

    private static dev.peft4j.core.model.llama.GenerationConfig greedy(int n) {
        return dev.peft4j.core.model.llama.GenerationConfig.builder().setMaxNewTokens(n).build();
    }

    private static long argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    @Test
    void mergeFailsClearlyAndChangesNothing() throws IOException {
        for (String name : List.of("prompt-llama", "prefix-llama")) {
            JsonNode exp = expected(name);
            LlamaForCausalLM lm = llama();
            PeftModel<LlamaForCausalLM> peft = PeftModel.load(lm, Fixtures.fixture("peft-methods", name));
            float[] before = lastLogits(lm, ids(exp.get("ids")));
            String type = peft.method().peftType();
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, peft::mergeAndUnload);
            assertEquals(type + " adapters cannot be merged: the virtual tokens are extra inputs, not a change of"
                    + " weights; run the model with the adapter loaded", e.getMessage());
            assertArrayEquals(before, lastLogits(lm, ids(exp.get("ids"))), 0f);
        }
    }

    /** A copy of a fixture with one config field changed. */
    private Path fixtureWith(String name, String field, int value) throws IOException {
        Path copy = Files.createDirectories(dir.resolve(name + "-" + field));
        ObjectNode cfg = (ObjectNode) JSON.readTree(Fixtures.fixture("peft-methods", name, "adapter_config.json")
                .toFile());
        cfg.put(field, value);
        Files.writeString(copy.resolve("adapter_config.json"), cfg.toString());
        Files.copy(Fixtures.fixture("peft-methods", name, "adapter_model.safetensors"),
                copy.resolve("adapter_model.safetensors"));
        return copy;
    }

    @Test
    void aPrefixForAnotherBaseFailsBeforeAnythingChangesNamingTheField() throws IOException {
        LlamaForCausalLM lm = llama();
        int params = lm.namedParameters().size();
        IllegalArgumentException layers = assertThrows(IllegalArgumentException.class,
                () -> PeftModel.load(lm, fixtureWith("prefix-llama", "num_layers", 3)));
        assertEquals("num_layers 3 does not match the base model's number of layers 2", layers.getMessage());
        IllegalArgumentException dim = assertThrows(IllegalArgumentException.class,
                () -> PeftModel.load(lm, fixtureWith("prefix-llama", "token_dim", 32)));
        assertEquals("token_dim 32 does not match the base model's key/value width 16 (head_dim 8 x 2 key/value"
                + " heads)", dim.getMessage());
        IllegalArgumentException heads = assertThrows(IllegalArgumentException.class,
                () -> PeftModel.load(lm, fixtureWith("prefix-llama", "num_attention_heads", 4)));
        assertEquals("num_attention_heads 4 does not match the base model's key/value heads 2", heads.getMessage());
        IllegalArgumentException prompt = assertThrows(IllegalArgumentException.class,
                () -> PeftModel.load(lm, fixtureWith("prompt-llama", "token_dim", 64)));
        assertEquals("token_dim 64 does not match the base model's hidden size 32", prompt.getMessage());
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
                () -> PeftModel.load(lm, fixtureWith("prompt-llama", "num_virtual_tokens", 9)));
        assertTrue(rows.getMessage().contains("tensor prompt_embeddings has shape (8, 32) but the model expects"
                + " (9, 32)"), rows.getMessage());
        assertEquals(params, lm.namedParameters().size(), "nothing added to the base");
        assertTrue(lm.hooks().isEmpty(), "no hook left behind");
    }

    @Test
    void loadingAsTrainableIsRefusedAsPeftDoes() throws IOException {
        LlamaForCausalLM lm = llama();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PeftModel.load(lm, Fixtures.fixture("peft-methods", "prompt-llama"), manager, true));
        assertTrue(e.getMessage().startsWith("Cannot set a prompt learning adapter to trainable when loading"
                + " pretrained adapter"), e.getMessage());
        assertEquals(new Shape(128, 32), lm.model().child("embed_tokens").parameter("weight").getArray().getShape());
        assertTrue(lm.hooks().isEmpty());
    }

    /** Two adapters: switching runs the other prompt, deleting the active one gives its place back. */
    @Test
    void adaptersSwitchAndDeleteCleanly() throws IOException {
        JsonNode exp = expected("prompt-llama");
        long[] ids = ids(exp.get("ids"));
        LlamaForCausalLM lm = llama();
        PeftModel<LlamaForCausalLM> peft = PeftModel.load(lm, Fixtures.fixture("peft-methods", "prompt-llama"));
        float[] fixture = lastLogits(lm, ids);
        peft.addAdapter("other", PromptTuningConfig.builder().setNumVirtualTokens(3).build());
        peft.setAdapter("other");
        assertEquals(3, lm.hooks().inputPrefix().numVirtualTokens());
        assertTrue(maxDiff(lastLogits(lm, ids), exp.get("last_logits")) > 0.01, "the other prompt runs");
        assertEquals(3 * 32, peft.trainableParameters().trainable(), "only the new adapter trains (3 x 32)");
        peft.setAdapter("default");
        assertArrayEquals(fixture, lastLogits(lm, ids), 0f);
        peft.deleteAdapter("default");
        assertEquals("other", peft.activeAdapter());
        assertEquals(Set.of("other"), lm.child("prompt_encoder").children().keySet());
        peft.deleteAdapter("other");
        assertFalse(lm.children().containsKey("prompt_encoder"));
        assertTrue(lm.hooks().isEmpty());
        assertTrue(maxDiff(lastLogits(lm, ids), exp.get("base_last_logits")) <= 1e-3, "the base again");
    }
}
