package dev.peft4j.core.model.bert;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.hooks.InputPrefix;
import dev.peft4j.core.model.hooks.KeyValuePrefix;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.model.hooks.PrefixKeyValues;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.model.hooks.Sublayer;
import dev.peft4j.core.nn.LinearLike;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PEFT hooks of BERT on a tiny random model: identities, equivalences with real tokens, hand computations, gradients. */
class BertHooksTest {

    private static final long[][] PREFIX = {{3, 7}, {3, 7}};
    private static final long[][] TOKENS = {{1, 5, 9, 2}, {4, 8, 2, 0}};
    private static final long[][] MASK = {{1, 1, 1, 1}, {1, 1, 1, 0}};
    private static final long[][] TYPES = {{0, 0, 1, 1}, {0, 1, 1, 0}};

    private NDManager m;
    private BertModel model;
    private ParameterStore ps;

    @BeforeEach
    void build() {
        m = NDManager.newBaseManager();
        model = new BertModel(TinyBert.config());
        BertModelTest.load(model, m, TinyBert.weights(model, 11));
        ps = new ParameterStore(m, false);
    }

    @AfterEach
    void close() {
        m.close();
    }

    private static long[][] cat(long[][] a, long[][] b) {
        long[][] out = new long[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = new long[a[i].length + b[i].length];
            System.arraycopy(a[i], 0, out[i], 0, a[i].length);
            System.arraycopy(b[i], 0, out[i], a[i].length, b[i].length);
        }
        return out;
    }

    private BertModelOutput run(long[][] ids, long[][] mask, long[][] types) {
        return model.forward(ps, m.create(ids), mask == null ? null : m.create(mask),
                types == null ? null : m.create(types), false);
    }

    static InputPrefix prompt(NDArray batched) {
        return new InputPrefix() {
            @Override
            public int numVirtualTokens() {
                return (int) batched.getShape().get(1);
            }

            @Override
            public NDArray embeddings(ParameterStore ps, long batchSize, NDManager manager, boolean training) {
                return batched;
            }
        };
    }

    static KeyValuePrefix prefix(List<NDArray> keys, List<NDArray> values) {
        return new KeyValuePrefix() {
            @Override
            public int numVirtualTokens() {
                return (int) keys.get(0).getShape().get(2);
            }

            @Override
            public PrefixKeyValues keyValues(ParameterStore ps, long batchSize, NDManager manager, boolean training) {
                return new PrefixKeyValues(keys, values);
            }
        };
    }

    @Test
    void classifierSitesFollowAdapterHubPaths() {
        BertForSequenceClassification clf = new BertForSequenceClassification(TinyBert.config(), Pooling.MEAN);
        PeftHooks hooks = clf.hooks();
        List<String> got = new ArrayList<>();
        for (ResidualSite s : hooks.residualSites()) {
            got.add(s.path() + ":" + s.layer() + ":" + s.sublayer());
        }
        assertEquals(List.of("bert.encoder.layer.0.attention.output:0:ATTENTION", "bert.encoder.layer.0.output:0:FEED_FORWARD",
                "bert.encoder.layer.1.attention.output:1:ATTENTION", "bert.encoder.layer.1.output:1:FEED_FORWARD"), got);
        assertEquals("bert", hooks.prefixHostPath());
        assertEquals(8, hooks.prefixShape().tokenDim());
        assertEquals(Sublayer.ATTENTION, model.hooks().residualSite("encoder.layer.1.attention.output").sublayer());
    }

    @Test
    void identityResidualHooksAreBitIdentical() {
        float[] plain = run(TOKENS, MASK, TYPES).lastHiddenState().toFloatArray();
        for (ResidualSite s : model.hooks().residualSites()) {
            s.setHook((p, r, training) -> r.standard());
        }
        assertArrayEquals(plain, run(TOKENS, MASK, TYPES).lastHiddenState().toFloatArray());
        model.hooks().clear();
        assertArrayEquals(plain, run(TOKENS, MASK, TYPES).lastHiddenState().toFloatArray());
    }

    @Test
    void inputPrefixOfTokenEmbeddingsEqualsFeedingTheTokens() {
        // PEFT: virtual tokens take positions 0..n-1 and token type 0, the mask gets ones in front.
        BertModelOutput full = run(cat(PREFIX, TOKENS), cat(new long[][] {{1, 1}, {1, 1}}, MASK),
                cat(new long[][] {{0, 0}, {0, 0}}, TYPES));
        NDArray rows = model.getModule("embeddings.word_embeddings").parameter("weight").getArray()
                .get(m.create(PREFIX[0])).expandDims(0).repeat(0, 2);
        model.hooks().setInputPrefix(prompt(rows));
        BertModelOutput got = run(TOKENS, MASK, TYPES);
        assertEquals(new Shape(2, 6, 8), got.lastHiddenState().getShape());
        double diff = maxAbsDiff(full.lastHiddenState(), got.lastHiddenState());
        assertTrue(diff <= 1e-6, "max diff " + diff);
        assertTrue(maxAbsDiff(full.pooledOutput(), got.pooledOutput()) <= 1e-6, "the pooler reads the first virtual token");
        // embed: mean pooling over the extended mask (token types all 0)
        long[][] fullMask = cat(new long[][] {{1, 1}, {1, 1}}, MASK);
        model.hooks().clear();
        NDArray fullMean = Pooling.MEAN.pool(run(cat(PREFIX, TOKENS), fullMask, null), m.create(fullMask));
        model.hooks().setInputPrefix(prompt(rows));
        double meanDiff = maxAbsDiff(fullMean, model.embed(ps, m.create(TOKENS), m.create(MASK)));
        assertTrue(meanDiff <= 1e-6, "mean max diff " + meanDiff);

        long[] nine = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(new long[][] {nine, nine}, null, null));
        assertEquals("9 tokens after 0 prefix positions and 2 virtual tokens exceed max_position_embeddings 10",
                e.getMessage());
    }

    /** Per layer, the keys and values the prefix tokens have in a joint run over [prefix, tokens]. */
    private List<List<NDArray>> jointPrefixKeyValues(long[][] ids, long[][] mask) {
        List<NDArray> inputs = new ArrayList<>();
        for (int l = 0; l < TinyBert.LAYERS; l++) {
            model.hooks().residualSite("encoder.layer." + l + ".attention.output").setHook((p, r, training) -> {
                NDArray input = r.residual().duplicate(); // the layer's input, kept past the layer's scope
                input.attach(m);
                inputs.add(input);
                return r.standard();
            });
        }
        run(ids, mask, null);
        model.hooks().clear();
        List<NDArray> keys = new ArrayList<>();
        List<NDArray> values = new ArrayList<>();
        for (int l = 0; l < TinyBert.LAYERS; l++) {
            NDArray x = inputs.get(l).get(new NDIndex(":, :2"));
            String self = "encoder.layer." + l + ".attention.self.";
            keys.add(heads(((LinearLike) model.getModule(self + "key")).forward(ps, x, false)));
            values.add(heads(((LinearLike) model.getModule(self + "value")).forward(ps, x, false)));
        }
        return List.of(keys, values);
    }

    private static NDArray heads(NDArray x) {
        long b = x.getShape().get(0);
        long n = x.getShape().get(1);
        return x.reshape(b, n, TinyBert.HEADS, TinyBert.HIDDEN / TinyBert.HEADS).transpose(0, 2, 1, 3);
    }

    @Test
    void keyValuePrefixOfJointKeysEqualsFeedingTheTokens() {
        // transformers' BERT: positions of the real tokens start at past_key_values_length = n.
        long[][] fullMask = cat(new long[][] {{1, 1}, {1, 1}}, MASK);
        BertModelOutput full = run(cat(PREFIX, TOKENS), fullMask, null);
        List<List<NDArray>> kv = jointPrefixKeyValues(cat(PREFIX, TOKENS), fullMask);
        model.hooks().setKeyValuePrefix(prefix(kv.get(0), kv.get(1)));
        BertModelOutput got = run(TOKENS, MASK, null);
        assertEquals(new Shape(2, 4, 8), got.lastHiddenState().getShape());
        NDArray want = full.lastHiddenState().get(new NDIndex(":, 2:"));
        double diff = maxAbsDiff(want, got.lastHiddenState());
        assertTrue(diff <= 1e-5, "max diff " + diff);
        assertTrue(maxAbsDiff(want, run(TOKENS, MASK, null).lastHiddenState()) <= 1e-5, "stays installed");
        model.hooks().clear();
        assertTrue(maxAbsDiff(want, run(TOKENS, MASK, null).lastHiddenState()) > 1e-2, "the prefix matters");
    }

    @Test
    void residualHookAddingATensorChangesTheOutputAsComputedByHand() {
        ResidualSite site = model.hooks().residualSite("encoder.layer.1.output");
        NDArray[] seen = new NDArray[2];
        site.setHook((p, r, training) -> {
            seen[0] = r.output().duplicate(); // arrays of a layer's scope are freed after it
            seen[1] = r.residual().duplicate();
            seen[0].attach(m);
            seen[1].attach(m);
            return r.standard();
        });
        run(TOKENS, MASK, TYPES);
        float[] h = seen[0].toFloatArray();
        float[] res = seen[1].toFloatArray();
        NDArray c = m.arange(8f).div(4f);
        site.setHook((p, r, training) -> r.norm(r.output().add(r.residual()).add(c)));
        float[] got = run(TOKENS, MASK, TYPES).lastHiddenState().toFloatArray();
        float[] gamma = model.getModule("encoder.layer.1.output.LayerNorm").parameter("weight").getArray().toFloatArray();
        float[] beta = model.getModule("encoder.layer.1.output.LayerNorm").parameter("bias").getArray().toFloatArray();
        float[] want = new float[got.length];
        for (int row = 0; row < got.length / 8; row++) {
            double[] y = new double[8];
            double mean = 0;
            for (int j = 0; j < 8; j++) {
                y[j] = (double) h[row * 8 + j] + res[row * 8 + j] + j / 4.0;
                mean += y[j] / 8;
            }
            double var = 0;
            for (int j = 0; j < 8; j++) {
                var += (y[j] - mean) * (y[j] - mean) / 8;
            }
            for (int j = 0; j < 8; j++) {
                want[row * 8 + j] = (float) ((y[j] - mean) / Math.sqrt(var + 1e-12) * gamma[j] + beta[j]);
            }
        }
        assertTrue(maxAbsDiff(got, want) <= 1e-5, "max diff " + maxAbsDiff(got, want));
    }

    @Test
    void gradientsReachAResidualHookAndAKeyValuePrefix() {
        Engine.getInstance().setRandomSeed(3);
        NDArray shift = m.randomNormal(new Shape(8));
        checkGradient(shift, w -> model.hooks().residualSite("encoder.layer.0.attention.output")
                .setHook((p, r, training) -> r.norm(r.output().add(r.residual()).add(w))));
        NDArray key = m.randomNormal(new Shape(2, 2, 3, 4));
        NDArray value = m.randomNormal(new Shape(2, 2, 3, 4));
        checkGradient(key, w -> model.hooks().setKeyValuePrefix(prefix(List.of(w, w), List.of(value, value))));
    }

    private void checkGradient(NDArray param, java.util.function.Consumer<NDArray> install) {
        NDArray probe = m.randomNormal(new Shape(2, 4, 8));
        NDArray direction = m.randomNormal(param.getShape());
        Function<NDArray, Double> loss = w -> {
            install.accept(w);
            return (double) run(TOKENS, MASK, TYPES).lastHiddenState().mul(probe).sum().getFloat();
        };
        param.setRequiresGradient(true);
        double analytic;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            install.accept(param);
            gc.backward(run(TOKENS, MASK, TYPES).lastHiddenState().mul(probe).sum());
            assertTrue(param.getGradient().abs().sum().getFloat() > 0, "a gradient reaches the hook's array");
            analytic = param.getGradient().mul(direction).sum().getFloat();
        }
        double eps = 1e-2;
        double numeric = (loss.apply(param.add(direction.mul(eps))) - loss.apply(param.sub(direction.mul(eps))))
                / (2 * eps);
        assertEquals(numeric, analytic, 2e-2 * Math.max(1, Math.abs(numeric)), "directional derivative");
        model.hooks().clear();
    }
}
