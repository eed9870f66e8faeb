package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.hooks.ResidualHook;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.nn.LayerNorm;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.TinyClassifier;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.function.Function;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The configuration switches AdapterHub's {@code Adapter}/{@code ParallelAdapter} honour, each
 * against its formula written out by hand as test-only hooks over the adapter's own (randomized)
 * weights, on the one-layer BERT of {@link TinyClassifier} (width 8).
 */
class BottleneckVariantsTest {

    private static final long[] IDS = {2, 7, 8, 9, 3};

    private static float[] embed(BertForSequenceClassification model, NDManager m) {
        try (NDManager s = m.newSubManager()) {
            return model.bert().embed(new ParameterStore(s, false), s.create(IDS).expandDims(0), null).toFloatArray();
        }
    }

    /** Wraps with {@code config}, randomizes the adapter, checks it against {@code byHand(adapter)} at every site. */
    private static void check(BottleneckConfig config, Function<BottleneckAdapter, ResidualHook> byHand) {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            float[] base = embed(model, m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, config, m, 5);
            Random random = new Random(11);
            for (Parameter p : peft.adapterParameters("default").values()) {
                Shape shape = p.getArray().getShape();
                float[] v = new float[(int) shape.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (random.nextGaussian() * 0.5);
                }
                Params.assign(p, m.create(v, shape));
            }
            float[] adapted = embed(model, m);
            assertTrue(maxAbsDiff(adapted, toDouble(base)) > 1e-3, "the adapter changes the output");
            try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
                for (ResidualSite s : model.hooks().residualSites()) {
                    if (model.namedModules().containsKey(s.path() + ".adapters.default")) {
                        s.setHook(byHand.apply((BottleneckAdapter) model.getModule(s.path() + ".adapters.default")));
                    }
                }
                double diff = maxAbsDiff(embed(model, m), toDouble(adapted));
                assertTrue(diff < 1e-5, config + ": differs from the formula by " + diff);
                model.hooks().clear();
            }
        }
    }

    private static Linear down(BottleneckAdapter a) {
        return a.downProjection();
    }

    @Test
    void parallelReadsTheBlockInputAndScales() {
        check(BottleneckConfig.parBn().build(), a -> (ps, r, t) -> {
            NDArray f = a.upProjection().forward(ps, Activation.relu(down(a).forward(ps, r.residual(), t)), t);
            return r.norm(r.output().add(r.residual()).add(f.mul(4f)));
        });
    }

    /** {@code ln_before}, {@code ln_after}, {@code adapter_residual_before_ln}, GELU over SeqBn. */
    @Test
    void adapterLayerNormsAndTheirResidualOrder() {
        check(BottleneckConfig.seqBn().optLnBefore(true).optLnAfter(true).optAdapterResidualBeforeLn(true)
                .optNonLinearity("gelu").build(), a -> (ps, r, t) -> {
                    NDArray x = r.norm(r.output().add(r.residual()));
                    LayerNorm before = (LayerNorm) a.getModule("adapter_down.0");
                    LayerNorm after = (LayerNorm) a.getModule("adapter_norm_after");
                    NDArray f = a.upProjection().forward(ps, Activation.gelu(down(a).forward(ps, before.forward(ps, x, t), t)), t);
                    NDArray o = after.forward(ps, f.add(r.output()), t);
                    return r.norm(o.add(r.residual()));
                });
    }

    /** {@code residual_before_ln: "post_add"}, {@code use_gating}, {@code original_ln_after: false}. */
    @Test
    void gatingPostAddAndNoOriginalLnAfter() {
        check(BottleneckConfig.seqBn().optResidualBeforeLn(ResidualBeforeLn.POST_ADD).optUseGating(true)
                .optOriginalLnAfter(false).build(), a -> (ps, r, t) -> {
                    NDArray sum = r.output().add(r.residual());
                    NDArray x = r.norm(sum);
                    NDArray f = a.upProjection().forward(ps, Activation.relu(down(a).forward(ps, x, t)), t);
                    NDArray gate = Activation.sigmoid(((Linear) a.getModule("gate")).forward(ps, x, t)).mean(new int[] {1}, true);
                    return f.mul(gate).add(sum);
                });
    }

    @Test
    void savedKeysOfTheOptionalModulesAreAdapterHubs() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, BottleneckConfig.seqBn()
                    .optLnBefore(true).optLnAfter(true).optUseGating(true).optName("task").build(), m);
            String p = "bert.encoder.layer.0.output.adapters.task.";
            assertEquals(new TreeSet<>(List.of(p + "adapter_down.0.weight", p + "adapter_down.0.bias",
                    p + "adapter_down.1.weight", p + "adapter_down.1.bias", p + "adapter_norm_before.weight",
                    p + "adapter_norm_before.bias", p + "adapter_up.weight", p + "adapter_up.bias",
                    p + "adapter_norm_after.weight", p + "adapter_norm_after.bias", p + "gate.weight", p + "gate.bias")),
                    new TreeSet<>(peft.adapterParameters("default").keySet()));
            Map<String, Parameter> saved = peft.adapterParameters("default");
            assertTrue(saved.get(p + "adapter_down.0.weight") == saved.get(p + "adapter_norm_before.weight"),
                    "one LayerNorm under two keys, as AdapterHub's state dict");
        }
    }

    @Test
    void leaveOutAndPerLayerReductionFactors() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            int params = model.namedParameters().size();
            String msg = assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(model,
                    BottleneckConfig.doubleSeqBn().optLeaveOut(List.of(0)).build(), m)).getMessage();
            assertEquals("the adapter config selects no site of BertForSequenceClassification (mh_adapter=true,"
                    + " output_adapter=true, leave_out=[0])", msg);
            assertEquals(params, model.namedParameters().size(), "nothing added");
            msg = assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(model,
                    BottleneckConfig.seqBn().optReductionFactor(Map.of("3", 2), null).build(), m)).getMessage();
            assertEquals("reduction_factor gives no value for layer 0 and no \"default\" (e.g. {\"1\": 16, \"default\": 16})",
                    msg);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model,
                    BottleneckConfig.seqBn().optReductionFactor(Map.of("0", 2), 16).build(), m);
            assertEquals(4, ((Linear) model.getModule("bert.encoder.layer.0.output.adapters.default.adapter_up"))
                    .inFeatures(), "layer 0: 8 // 2");
            assertEquals(List.of("bert.encoder.layer.0.output.adapters.default"), peft.targetPaths("default"));
        }
    }

    static double[] toDouble(float[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
