package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.hooks.ResidualHook;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.model.hooks.Sublayer;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.function.UnaryOperator;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdapterHub's bottleneck adapters written as test-only {@link ResidualHook}s reproduce the
 * {@code seqbn-minilm} (Pfeiffer) and {@code dseqbn-minilm} (Houlsby) fixtures on the built-in
 * MiniLM: proof that the residual hook carries what those methods need.
 */
class BottleneckFixtureTest {

    /** {@code f(x) = up(act(down(x)))} from AdapterHub's keys under {@code <site>.adapters.<name>.}. */
    private static UnaryOperator<NDArray> adapter(SafetensorsFile file, String key, NDManager m,
            UnaryOperator<NDArray> act) throws IOException {
        NDArray wd = file.load(key + "adapter_down.0.weight", m);
        NDArray bd = file.load(key + "adapter_down.0.bias", m);
        NDArray wu = file.load(key + "adapter_up.weight", m);
        NDArray bu = file.load(key + "adapter_up.bias", m);
        return x -> act.apply(x.matMul(wd.transpose()).add(bd)).matMul(wu.transpose()).add(bu);
    }

    @Test
    void seqBnPfeifferReproducesAdapterHub() throws IOException {
        check("seqbn-minilm", "reviews", false, Activation::relu);
    }

    @Test
    void doubleSeqBnHoulsbyReproducesAdapterHub() throws IOException {
        check("dseqbn-minilm", "food_houlsby", true, x -> x.mul(Activation.sigmoid(x)));
    }

    private void check(String fixture, String name, boolean houlsby, UnaryOperator<NDArray> act) throws IOException {
        JsonNode sentences = new ObjectMapper().readTree(Fixtures.fixture("peft-methods", "expected.json").toFile())
                .get(fixture).get("sentences");
        try (NDManager m = NDManager.newBaseManager();
                TensorSource weights = Builtins.get(Builtins.ALL_MINILM_L6_V2).openWeights();
                SafetensorsFile file = SafetensorsFile.open(
                        Fixtures.fixture("peft-methods", fixture, "adapter.safetensors"))) {
            BertModel bert = BertModel.load(weights, HfConfig.of(Builtins.get(Builtins.ALL_MINILM_L6_V2).config(),
                    "all-minilm-l6-v2"), m);
            ParameterStore ps = new ParameterStore(m, false);
            int installed = 0;
            for (ResidualSite site : bert.hooks().residualSites()) {
                if (!houlsby && site.sublayer() == Sublayer.ATTENTION) {
                    continue; // SeqBn: output adapter only
                }
                UnaryOperator<NDArray> f = adapter(file, site.path() + ".adapters." + name + ".", m, act);
                site.setHook(houlsby
                        ? (p, r, training) -> r.norm(r.output().add(r.residual()).add(f.apply(r.output())))
                        : (p, r, training) -> {
                            NDArray hr = r.output().add(r.residual());
                            return r.norm(hr.add(f.apply(r.norm(hr))));
                        });
                installed++;
            }
            assertTrue(installed == (houlsby ? 12 : 6));
            double worst = 0;
            double moved = 0;
            for (JsonNode s : sentences) {
                NDArray ids = m.create(longs(s.get("ids"))).expandDims(0);
                float[] got = bert.embed(ps, ids, null).toFloatArray();
                worst = Math.max(worst, maxAbsDiff(got, doubles(s.get("mean"))));
                moved = Math.max(moved, maxAbsDiff(got, doubles(s.get("base_mean"))));
            }
            assertTrue(worst <= 1e-4, fixture + ": max diff " + worst);
            assertTrue(moved > 1e-2, fixture + ": the adapter changes the embedding");
        }
    }

    private static long[] longs(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }

    private static double[] doubles(JsonNode n) {
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asDouble();
        }
        return out;
    }
}
