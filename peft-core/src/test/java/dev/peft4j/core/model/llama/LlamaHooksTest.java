package dev.peft4j.core.model.llama;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.model.hooks.InputPrefix;
import dev.peft4j.core.model.hooks.KeyValuePrefix;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.model.hooks.PrefixKeyValues;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.model.hooks.Sublayer;
import dev.peft4j.core.nn.Scalars;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PEFT hooks of the Llama family on the tiny fixture checkpoint: bit-identity without hooks,
 * equivalences with real tokens, PEFT's prompt/prefix-tuning logits, KV-cached generation and
 * gradients.
 */
class LlamaHooksTest {

    private static final long[] PREFIX = {1, 42, 17};
    private static final long[] TOKENS = {25, 3, 99, 7, 123};

    private NDManager manager;
    private LlamaForCausalLM lm;
    private ParameterStore ps;

    @BeforeEach
    void load() throws IOException {
        manager = NDManager.newBaseManager();
        lm = LlamaForCausalLM.load(LlamaTestSupport.tinyCausalLm().resolve("llama-bf16"), manager);
        ps = new ParameterStore(manager, false);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** A prompt given as a fixed {@code [n, hidden]} array, repeated over the batch (PEFT's inference get_prompt). */
    static InputPrefix prompt(NDArray weight) {
        return new InputPrefix() {
            @Override
            public int numVirtualTokens() {
                return (int) weight.getShape().get(0);
            }

            @Override
            public NDArray embeddings(ParameterStore ps, long batchSize, NDManager m, boolean training) {
                return weight.expandDims(0).repeat(0, batchSize);
            }
        };
    }

    /** A key/value prefix in PEFT's flat layout {@code [n, L·2·kvHeads·headDim]}. */
    static KeyValuePrefix flatPrefix(NDArray weight, LlamaConfig c) {
        return new KeyValuePrefix() {
            @Override
            public int numVirtualTokens() {
                return (int) weight.getShape().get(0);
            }

            @Override
            public PrefixKeyValues keyValues(ParameterStore ps, long batchSize, NDManager m, boolean training) {
                return PrefixKeyValues.fromPeftLayout(weight.expandDims(0).repeat(0, batchSize),
                        c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim());
            }
        };
    }

    /** A key/value prefix given per layer. */
    static KeyValuePrefix layerPrefix(List<NDArray> keys, List<NDArray> values) {
        return new KeyValuePrefix() {
            @Override
            public int numVirtualTokens() {
                return (int) keys.get(0).getShape().get(2);
            }

            @Override
            public PrefixKeyValues keyValues(ParameterStore ps, long batchSize, NDManager m, boolean training) {
                return new PrefixKeyValues(keys, values);
            }
        };
    }

    private float[] logits(long[] ids) {
        return lm.forward(ps, manager.create(ids).reshape(1, ids.length), null, null, null, false)
                .logits().toFloatArray();
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = new long[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static float[] tail(float[] flat, int from) {
        float[] out = new float[flat.length - from];
        System.arraycopy(flat, from, out, 0, out.length);
        return out;
    }

    @Test
    void sitesAreNamedAsAdapterHubPaths() {
        PeftHooks hooks = lm.hooks();
        List<String> paths = new ArrayList<>();
        for (ResidualSite s : hooks.residualSites()) {
            paths.add(s.path() + ":" + s.layer() + ":" + s.sublayer());
        }
        assertEquals(List.of("model.layers.0.attention_adapters:0:ATTENTION", "model.layers.0.output_adapters:0:FEED_FORWARD",
                "model.layers.1.attention_adapters:1:ATTENTION", "model.layers.1.output_adapters:1:FEED_FORWARD"), paths);
        assertEquals("model", hooks.prefixHostPath());
        assertEquals(16, hooks.prefixShape().tokenDim()); // PEFT's GQA token_dim: head_dim 8 x 2 KV heads
        assertEquals("layers.1.output_adapters", lm.model().hooks().residualSites().get(3).path());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> hooks.residualSite("model.layers.9.output_adapters"));
        assertEquals("no residual site 'model.layers.9.output_adapters' in LlamaForCausalLM (sites:"
                + " [model.layers.0.attention_adapters, model.layers.0.output_adapters,"
                + " model.layers.1.attention_adapters, model.layers.1.output_adapters])", e.getMessage());
        assertTrue(hooks.isEmpty());
    }

    @Test
    void identityHooksAndClearedHooksAreBitIdentical() {
        long[] ids = concat(PREFIX, TOKENS);
        float[] plain = logits(ids);
        PeftHooks hooks = lm.hooks();
        for (ResidualSite s : hooks.residualSites()) {
            s.setHook((p, r, training) -> r.standard());
        }
        assertArrayEquals(plain, logits(ids));
        hooks.setInputPrefix(prompt(manager.ones(new Shape(2, 32))));
        assertEquals(plain.length + 2 * 128, logits(ids).length);
        hooks.clear();
        assertTrue(hooks.isEmpty());
        assertNull(hooks.inputPrefix());
        assertArrayEquals(plain, logits(ids));
    }

    @Test
    void inputPrefixOfTokenEmbeddingsEqualsFeedingTheTokens() {
        // PEFT's positions count the virtual tokens from 0, so the equivalence is exact.
        float[] full = logits(concat(PREFIX, TOKENS));
        NDArray rows = lm.model().child("embed_tokens").parameter("weight").getArray().get(manager.create(PREFIX));
        lm.hooks().setInputPrefix(prompt(rows));
        float[] prompted = logits(TOKENS);
        assertEquals(full.length, prompted.length);
        assertTrue(maxAbsDiff(full, prompted) <= 1e-6, "max diff " + maxAbsDiff(full, prompted));

        // a right-padded batch: the mask gets n ones in front, outputs cover n + T positions
        NDArray ids = manager.create(new long[][] {{25, 3, 99, 7, 123}, {25, 3, 99, 0, 0}});
        NDArray mask = manager.create(new long[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}});
        lm.hooks().setInputPrefix(prompt(rows));
        NDArray batch = lm.forward(ps, ids, mask, null, null, false).logits();
        assertEquals(new Shape(2, 8, 128), batch.getShape());
        lm.hooks().clear();
        float[] shortFull = logits(new long[] {1, 42, 17, 25, 3, 99});
        assertTrue(maxAbsDiff(shortFull, batch.get(new NDIndex("1, :6")).toFloatArray()) <= 1e-5);
        assertTrue(maxAbsDiff(full, batch.get(new NDIndex("0")).toFloatArray()) <= 1e-5);
    }

    @Test
    void keyValuePrefixShiftsCallerPositionsByN() {
        List<List<NDArray>> kv = realPrefixKeyValues();
        lm.hooks().setKeyValuePrefix(layerPrefix(kv.get(0), kv.get(1)));
        NDArray ids = manager.create(TOKENS).reshape(1, TOKENS.length);
        float[] byDefault = lm.forward(ps, ids, null, null, null, false).logits().toFloatArray();
        NDArray positions = manager.arange(0f, (float) TOKENS.length, 1f, DataType.INT64).reshape(1, TOKENS.length);
        float[] given = lm.forward(ps, ids, null, positions, null, false).logits().toFloatArray();
        assertArrayEquals(byDefault, given, "caller positions 0..T-1 become n..n+T-1, as PEFT shifts them");
    }

    /** Per layer, the cached (rotated) keys and the values of the prefix tokens run on their own. */
    private List<List<NDArray>> realPrefixKeyValues() {
        List<NDArray> keys = new ArrayList<>();
        List<NDArray> values = new ArrayList<>();
        try (KvCache cache = lm.newCache(manager)) {
            lm.forward(ps, manager.create(PREFIX).reshape(1, PREFIX.length), null, null, cache, false);
            for (int l = 0; l < cache.numLayers(); l++) {
                NDArray k = cache.keys(l).duplicate();
                NDArray v = cache.values(l).duplicate();
                k.attach(manager);
                v.attach(manager);
                keys.add(k);
                values.add(v);
            }
        }
        return List.of(keys, values);
    }

    @Test
    void keyValuePrefixOfRealKeysEqualsFeedingTheTokens() {
        // Prefix keys are used unrotated and real positions start at n: keys rotated at 0..n-1 reproduce the tokens.
        float[] full = logits(concat(PREFIX, TOKENS));
        List<List<NDArray>> kv = realPrefixKeyValues();
        lm.hooks().setKeyValuePrefix(layerPrefix(kv.get(0), kv.get(1)));
        float[] prefixed = logits(TOKENS);
        float[] expected = tail(full, PREFIX.length * 128);
        assertEquals(expected.length, prefixed.length);
        assertTrue(maxAbsDiff(expected, prefixed) <= 1e-5, "max diff " + maxAbsDiff(expected, prefixed));

        // with a padded batch: the mask covers the real tokens only, positions follow it (+n)
        NDArray ids = manager.create(new long[][] {{0, 0, 25, 3, 99}, {25, 3, 99, 7, 123}});
        NDArray mask = manager.create(new long[][] {{0, 0, 1, 1, 1}, {1, 1, 1, 1, 1}});
        List<NDArray> k2 = new ArrayList<>();
        List<NDArray> v2 = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            k2.add(kv.get(0).get(l).repeat(0, 2));
            v2.add(kv.get(1).get(l).repeat(0, 2));
        }
        lm.hooks().setKeyValuePrefix(layerPrefix(k2, v2));
        NDArray batch = lm.forward(ps, ids, mask, null, null, false).logits();
        lm.hooks().clear();
        float[] short3 = tail(logits(new long[] {1, 42, 17, 25, 3, 99}), 3 * 128);
        float[] row0 = batch.get(new NDIndex("0, 2:")).toFloatArray();
        assertTrue(maxAbsDiff(short3, row0) <= 1e-5, "left-padded row: " + maxAbsDiff(short3, row0));
        assertTrue(maxAbsDiff(expected, batch.get(new NDIndex("1")).toFloatArray()) <= 1e-5);
    }

    @Test
    void promptTuningFixtureReproducesPeftLogits() throws IOException {
        JsonNode exp = LlamaTestSupport.MAPPER.readTree(
                Fixtures.fixture("peft-methods", "expected.json").toFile()).get("prompt-llama");
        long[] ids = ids(exp.get("ids"));
        NDArray weight = adapterTensor("prompt-llama");
        assertEquals(new Shape(8, 32), weight.getShape());
        float[] base = lastLogits(ids);
        assertTrue(maxAbsDiff(base, doubles(exp.get("base_last_logits"))) <= 1e-3);
        lm.hooks().setInputPrefix(prompt(weight));
        float[] got = lastLogits(ids);
        double diff = maxAbsDiff(got, doubles(exp.get("last_logits")));
        assertTrue(diff <= 1e-3, "max diff " + diff);
        assertTrue(maxAbsDiff(got, base) > 0.1, "the prompt changes the logits");
    }

    @Test
    void prefixTuningFixtureReproducesPeftLogits() throws IOException {
        JsonNode exp = LlamaTestSupport.MAPPER.readTree(
                Fixtures.fixture("peft-methods", "expected.json").toFile()).get("prefix-llama");
        long[] ids = ids(exp.get("ids"));
        NDArray weight = adapterTensor("prefix-llama");
        assertEquals(new Shape(6, 2 * 2 * lm.hooks().prefixShape().tokenDim()), weight.getShape());
        lm.hooks().setKeyValuePrefix(flatPrefix(weight, lm.config()));
        float[] got = lastLogits(ids);
        double diff = maxAbsDiff(got, doubles(exp.get("last_logits")));
        assertTrue(diff <= 1e-3, "max diff " + diff);
        assertTrue(maxAbsDiff(got, doubles(exp.get("base_last_logits"))) > 0.1, "the prefix changes the logits");
    }

    @Test
    void cachedGenerationWithPromptEqualsFullRecompute() throws IOException {
        lm.hooks().setInputPrefix(prompt(adapterTensor("prompt-llama")));
        checkCachedEqualsRecompute(8);
    }

    @Test
    void cachedGenerationWithPrefixEqualsFullRecompute() throws IOException {
        lm.hooks().setKeyValuePrefix(flatPrefix(adapterTensor("prefix-llama"), lm.config()));
        checkCachedEqualsRecompute(6);
    }

    /** Greedy steps through the KV cache against full forward passes over the whole sequence. */
    private void checkCachedEqualsRecompute(int virtual) {
        int steps = 6;
        long[] seq = TOKENS.clone();
        List<Long> cachedTokens = new ArrayList<>();
        double worst = 0;
        try (KvCache cache = lm.newCache(manager)) {
            long[] next = seq;
            for (int i = 0; i < steps; i++) {
                float[] cached = lm.forward(ps, manager.create(next).reshape(1, next.length), null, null, cache,
                        false, 1).logits().toFloatArray();
                float[] full = lastLogits(seq);
                worst = Math.max(worst, maxAbsDiff(cached, full));
                long token = argmax(cached);
                assertEquals(argmax(full), token);
                cachedTokens.add(token);
                seq = concat(seq, new long[] {token});
                next = new long[] {token};
            }
            assertEquals(virtual, cache.virtualTokens());
            assertEquals(cache.virtualTokens() + TOKENS.length + steps - 1, cache.length());
        }
        assertTrue(worst <= 1e-4, "max diff cached vs recompute " + worst);
        long[] generated = new Generator(lm).generate(manager, TOKENS,
                GenerationConfig.builder().setMaxNewTokens(steps).build()).tokens();
        List<Long> viaGenerator = new ArrayList<>();
        for (long g : generated) {
            viaGenerator.add(g);
        }
        assertEquals(cachedTokens.subList(0, viaGenerator.size()), viaGenerator);
    }

    @Test
    void cacheFilledWithoutThePrefixIsRefused() {
        try (KvCache cache = lm.newCache(manager)) {
            lm.forward(ps, manager.create(TOKENS).reshape(1, TOKENS.length), null, null, cache, false);
            lm.hooks().setInputPrefix(prompt(manager.ones(new Shape(2, 32))));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> lm.forward(ps, manager.create(new long[] {5}).reshape(1, 1), null, null, cache, false));
            assertEquals("the KV cache holds 5 positions computed without the installed prefix;"
                    + " start with an empty cache after installing a prefix", e.getMessage());
        }
    }

    @Test
    void wrongPrefixShapesAreNamed() {
        lm.hooks().setInputPrefix(prompt(manager.ones(new Shape(2, 31))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> logits(TOKENS));
        assertEquals("input prefix gave (1, 2, 31), expected (1, 2, 32) (batch, num_virtual_tokens, hidden_size)",
                e.getMessage());
        lm.hooks().clear();
        lm.hooks().setKeyValuePrefix(flatPrefix(manager.ones(new Shape(3, 64)), lm.config()));
        lm.hooks().setInputPrefix(prompt(manager.ones(new Shape(2, 32))));
        IllegalStateException both = assertThrows(IllegalStateException.class, () -> logits(TOKENS));
        assertEquals("both an input prefix and a key/value prefix are installed; PEFT runs one prompt-learning"
                + " adapter at a time", both.getMessage());
        lm.hooks().setInputPrefix(null);
        lm.hooks().setKeyValuePrefix(layerPrefix(List.of(manager.ones(new Shape(1, 4, 3, 8))),
                List.of(manager.ones(new Shape(1, 4, 3, 8)))));
        IllegalArgumentException kv = assertThrows(IllegalArgumentException.class, () -> logits(TOKENS));
        assertEquals("key/value prefix has 1 layers of (1, 4, 3, 8); the model needs 2 layers of [1, 2, n, 8]"
                + " (batch, key/value heads, n, head_dim)", kv.getMessage());
    }

    @Test
    void residualHookAddingATensorChangesTheOutputAsComputedByHand() {
        NDArray ids = manager.create(TOKENS).reshape(1, TOKENS.length);
        ResidualSite last = lm.hooks().residualSite("model.layers.1.output_adapters");
        NDArray[] seen = new NDArray[2];
        last.setHook((p, r, training) -> {
            seen[0] = r.output();
            seen[1] = r.residual();
            return r.standard();
        });
        lm.forward(ps, ids, null, null, null, false);
        float[] h = seen[0].toFloatArray();
        float[] res = seen[1].toFloatArray();
        NDArray c = manager.arange(32f).div(64f); // [hidden]: 0, 1/64, ...
        last.setHook((p, r, training) -> r.output().add(r.residual()).add(c));
        float[] got = lm.forward(ps, ids, null, null, null, false).hiddenStates().toFloatArray();
        // the final RMSNorm of h + r + c, by hand
        float[] w = lm.model().child("norm").parameter("weight").getArray().toFloatArray();
        float[] want = new float[got.length];
        for (int t = 0; t < TOKENS.length; t++) {
            double ss = 0;
            double[] y = new double[32];
            for (int j = 0; j < 32; j++) {
                y[j] = (double) h[t * 32 + j] + res[t * 32 + j] + j / 64.0;
                ss += y[j] * y[j];
            }
            double inv = 1 / Math.sqrt(ss / 32 + 1e-6);
            for (int j = 0; j < 32; j++) {
                want[t * 32 + j] = (float) (y[j] * inv * w[j]);
            }
        }
        assertTrue(maxAbsDiff(got, want) <= 1e-5, "max diff " + maxAbsDiff(got, want));
        assertTrue(maxAbsDiff(got, lmHiddenWithout(ids)) > 1e-2);
    }

    private float[] lmHiddenWithout(NDArray ids) {
        lm.hooks().clear();
        return lm.forward(ps, ids, null, null, null, false).hiddenStates().toFloatArray();
    }

    @Test
    void gradientsReachThePromptThePrefixAndAResidualHook() {
        Engine.getInstance().setRandomSeed(7);
        NDArray ids = manager.create(TOKENS).reshape(1, TOKENS.length);
        NDArray promptWeight = manager.randomNormal(new Shape(3, 32));
        checkGradient(promptWeight, w -> {
            lm.hooks().clear();
            lm.hooks().setInputPrefix(prompt(w));
        }, ids);
        NDArray prefixWeight = manager.randomNormal(new Shape(4, 64));
        checkGradient(prefixWeight, w -> {
            lm.hooks().clear();
            lm.hooks().setKeyValuePrefix(flatPrefix(w, lm.config()));
        }, ids);
        NDArray shift = manager.randomNormal(new Shape(32));
        checkGradient(shift, w -> {
            lm.hooks().clear();
            lm.hooks().residualSite("model.layers.0.attention_adapters").setHook(
                    (p, r, training) -> r.output().add(r.residual()).add(Scalars.mul(w, 0.5)));
        }, ids);
    }

    /** The gradient of a fixed projection of the logits along a random direction, against central differences. */
    private void checkGradient(NDArray param, java.util.function.Consumer<NDArray> install, NDArray ids) {
        NDArray probe = manager.randomNormal(new Shape(1, 1, 128));
        NDArray direction = manager.randomNormal(param.getShape());
        Function<NDArray, Double> loss = w -> {
            install.accept(w);
            NDArray logits = lm.forward(ps, ids, null, null, null, true).logits();
            return (double) logits.mul(probe).sum().getFloat();
        };
        param.setRequiresGradient(true);
        double analytic;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            install.accept(param);
            NDArray logits = lm.forward(ps, ids, null, null, null, true).logits();
            gc.backward(logits.mul(probe).sum());
            NDArray grad = param.getGradient();
            assertTrue(grad.abs().sum().getFloat() > 0, "a gradient reaches the hook's array");
            analytic = grad.mul(direction).sum().getFloat();
        }
        double eps = 1e-2;
        double numeric = (loss.apply(param.add(direction.mul(eps))) - loss.apply(param.sub(direction.mul(eps))))
                / (2 * eps);
        assertEquals(numeric, analytic, 2e-2 * Math.max(1, Math.abs(numeric)), "directional derivative");
        lm.hooks().clear();
    }

    private float[] lastLogits(long[] ids) {
        return lm.forward(ps, manager.create(ids).reshape(1, ids.length), null, null, null, false, 1)
                .logits().toFloatArray();
    }

    private NDArray adapterTensor(String name) throws IOException {
        Path file = Fixtures.fixture("peft-methods", name, "adapter_model.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.load("prompt_embeddings", manager);
        }
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

    static long[] ids(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }

    static double[] doubles(JsonNode n) {
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asDouble();
        }
        return out;
    }
}
