package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.TinyClassifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** IA³ over a tiny BERT classifier: identity at init, the formulas, merge, save/load, adapters. */
class Ia3ModelTest {

    static NDArray ids(NDManager m) {
        return m.create(new long[][] {{2, 7, 8, 9, 3}, {2, 10, 11, 3, 0}});
    }

    static NDArray run(BertForSequenceClassification model, NDManager m) {
        NDArray x = ids(m);
        NDArray mask = m.create(new long[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}});
        return model.forward(new ParameterStore(m, false), x, mask, null, false);
    }

    /** @return max |a − b| relative to max |a| */
    static float rel(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat() / a.abs().max().getFloat();
    }

    /** Sets every vector of {@code adapter} to seeded values around 1. */
    static void randomize(PeftModel<?> peft, String adapter, long seed) {
        java.util.Random r = new java.util.Random(seed);
        for (Ia3Linear l : Ia3Adapters.layers(peft).values()) {
            if (!l.adapterNames().contains(adapter)) {
                continue;
            }
            Parameter p = l.vector(adapter);
            float[] v = new float[(int) p.getArray().getShape().size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = 1 + (float) r.nextGaussian() * 0.3f;
            }
            Params.assign(p, peft.manager().create(v, p.getArray().getShape()));
        }
    }

    @Test
    void freshAdapterIsTheBaseAndTheDefaultsAreBerts() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            NDArray base = run(model, m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, Ia3Config.builder().build(), m, 3);
            assertTrue(base.contentEquals(run(model, m)), "ones: the exact base output");
            assertEquals(List.of("bert.encoder.layer.0.attention.self.key", "bert.encoder.layer.0.attention.self.value",
                    "bert.encoder.layer.0.attention.output.dense", "bert.encoder.layer.0.output.dense"),
                    peft.targetPaths("default"));
            Ia3Config cfg = peft.config("default", Ia3Config.class);
            assertEquals(List.of("key", "value", "output.dense"), cfg.targetModules().names());
            assertEquals(List.of("output.dense"), cfg.feedforwardModules().names());
            // 8 + 8 (key, value: out) + 8 (attention.output.dense: in) + 12 (output.dense: in)
            assertEquals(36, peft.trainableParameters().trainable());
            Map<String, ai.djl.ndarray.NDArray> sd = peft.adapterStateDict("default");
            assertEquals(new ai.djl.ndarray.types.Shape(8, 1),
                    sd.get("base_model.model.bert.encoder.layer.0.attention.self.key.ia3_l").getShape());
            assertEquals(new ai.djl.ndarray.types.Shape(1, 12),
                    sd.get("base_model.model.bert.encoder.layer.0.output.dense.ia3_l").getShape());
        }
    }

    @Test
    void outputScalingIncludesTheBiasAndInputScalingScalesColumns() {
        try (NDManager m = NDManager.newBaseManager()) {
            Linear dense = new Linear(3, 2, true);
            dense.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32);
            Params.assign(dense.parameter("weight"), m.create(new float[] {1, 2, 3, 4, 5, 6}, new ai.djl.ndarray.types.Shape(2, 3)));
            Params.assign(dense.parameter("bias"), m.create(new float[] {10, 20}));
            NDArray x = m.create(new float[] {1, 1, 1}, new ai.djl.ndarray.types.Shape(1, 3));
            ParameterStore ps = new ParameterStore(m, false);

            Ia3Linear out = new Ia3Linear("d", dense);
            out.addAdapter("a", false, m.create(new float[] {2, 3}, new ai.djl.ndarray.types.Shape(2, 1)));
            out.setActive("a");
            // (x·Wᵀ + b) ⊙ l = (6 + 10, 15 + 20) ⊙ (2, 3)
            assertEquals(List.of(32f, 105f), floats(out.forward(ps, x, false)));

            Linear dense2 = new Linear(3, 2, true);
            dense2.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32);
            Params.assign(dense2.parameter("weight"), m.create(new float[] {1, 2, 3, 4, 5, 6}, new ai.djl.ndarray.types.Shape(2, 3)));
            Params.assign(dense2.parameter("bias"), m.create(new float[] {10, 20}));
            Ia3Linear in = new Ia3Linear("d2", dense2);
            in.addAdapter("a", true, m.create(new float[] {1, 0, 2}, new ai.djl.ndarray.types.Shape(1, 3)));
            in.setActive("a");
            // W·(x ⊙ l) + b = (1 + 6 + 10, 4 + 12 + 20)
            assertEquals(List.of(17f, 36f), floats(in.forward(ps, x, false)));

            out.merge(true);
            in.merge(true);
            assertEquals(List.of(2f, 4f, 6f, 12f, 15f, 18f), floats(dense.parameter("weight").getArray()));
            assertEquals(List.of(20f, 60f), floats(dense.parameter("bias").getArray()), "bias scaled too");
            assertEquals(List.of(1f, 0f, 6f, 4f, 0f, 12f), floats(dense2.parameter("weight").getArray()));
            assertEquals(List.of(10f, 20f), floats(dense2.parameter("bias").getArray()), "feed-forward: bias kept");
            assertEquals(List.of(32f, 105f), floats(out.forward(ps, x, false)));
            assertEquals(List.of(17f, 36f), floats(in.forward(ps, x, false)));
            in.unmerge();
            // lossy as PEFT: the zeroed column comes back as 0 / (0 + 1e-8) = 0, not 2 and 5
            assertEquals(List.of(1f, 0f, 3f, 4f, 0f, 6f), floats(dense2.parameter("weight").getArray()));
        }
    }

    private static List<Float> floats(NDArray a) {
        List<Float> out = new java.util.ArrayList<>();
        for (float f : a.toFloatArray()) {
            out.add(f);
        }
        return out;
    }

    @Test
    void mergedEqualsUnmergedAndUnmergeRestoresUpToEpsilon() {
        try (NDManager m = NDManager.newBaseManager()) {
            // the base is drawn from the engine's generator: seed it, or the test depends on what ran before
            ai.djl.engine.Engine.getInstance().setRandomSeed(42);
            BertForSequenceClassification model = TinyClassifier.create(m);
            NDArray base = run(model, m);
            float[] key = model.namedParameters().get("bert.encoder.layer.0.attention.self.key.weight").getArray()
                    .toFloatArray();
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, Ia3Config.builder().build(), m, 3);
            randomize(peft, "default", 5);
            NDArray adapted = run(model, m);
            float moved = rel(adapted, base);
            assertTrue(moved > 1e-4, "the vectors change the output: " + moved);
            peft.merge(true);
            assertTrue(peft.isMerged());
            assertTrue(rel(adapted, run(model, m)) < 1e-6);
            peft.unmerge();
            assertFalse(peft.isMerged());
            float[] back = peft.baseModel().namedParameters()
                    .get("bert.encoder.layer.0.attention.self.key.base_layer.weight").getArray().toFloatArray();
            for (int i = 0; i < key.length; i++) {
                assertEquals(key[i], back[i], 1e-5f * Math.max(1, Math.abs(key[i])));
            }
            try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
                assertTrue(rel(base, run(model, m)) < 1e-6);
            }
            BertForSequenceClassification merged = peft.mergeAndUnload();
            assertInstanceOf(Linear.class, merged.getModule("bert.encoder.layer.0.output.dense"));
            assertTrue(rel(adapted, run(merged, m)) < 1e-6);
        }
    }

    @Test
    void saveLoadRoundTripAndPeftStyleConfig(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            Map<String, float[]> weights = TinyClassifier.snapshot(model);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, Ia3Config.builder().build(), m, 3);
            randomize(peft, "default", 9);
            NDArray adapted = run(model, m);
            peft.save(dir);
            String json = Files.readString(dir.resolve("adapter_config.json"));
            assertTrue(json.startsWith("{\n  \"auto_mapping\": null,\n  \"base_model_name_or_path\": null,"), json);
            assertTrue(json.contains("\"peft_type\": \"IA3\""), json);
            assertTrue(json.contains("\"feedforward_modules\": [\n    \"output.dense\"\n  ]"), json);
            assertTrue(json.contains("\"inference_mode\": true"), json);
            assertFalse(json.endsWith("\n"), "no trailing newline, as PEFT");

            BertForSequenceClassification fresh = TinyClassifier.create(m);
            TinyClassifier.restore(fresh, weights);
            PeftModel<BertForSequenceClassification> back = PeftModel.load(fresh, dir, m);
            assertTrue(adapted.contentEquals(run(fresh, m)), "bit-equal after the round trip");
            assertEquals(peft.config("default"), back.config("default").withInferenceMode(false));
        }
    }

    @Test
    void adaptersAreAddedSwitchedDeletedAndCombined() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            NDArray base = run(model, m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model,
                    Ia3Config.builder().setTargetModules("key", "value").setFeedforwardModules().build(), m, 3);
            peft.addAdapter("ffn", Ia3Config.builder().setTargetModules("intermediate.dense", "output.dense")
                    .setFeedforwardModules("output.dense").build());
            randomize(peft, "default", 1);
            randomize(peft, "ffn", 2);
            NDArray a = run(model, m);
            peft.setAdapter("ffn");
            NDArray b = run(model, m);
            assertTrue(rel(a, b) > 1e-4);
            assertEquals(2, peft.targetPaths("default").size());
            assertEquals(3, peft.targetPaths("ffn").size(), "intermediate.dense, attention.output.dense, output.dense");

            Ia3Adapters.addWeightedAdapter(peft, List.of("default", "ffn"), List.of(0.5, 2.0), "mix");
            Ia3Config mix = peft.config("mix", Ia3Config.class);
            assertEquals(List.of("key", "value", "intermediate.dense", "output.dense"), mix.targetModules().names());
            Ia3Linear key = Ia3Adapters.layers(peft).get("bert.encoder.layer.0.attention.self.key");
            float[] k0 = key.vector("default").getArray().toFloatArray();
            float[] km = key.vector("mix").getArray().toFloatArray();
            assertEquals(0.5f * k0[3], km[3], 1e-6f, "only 'default' adapts key: 0.5·l");
            Ia3Linear out = Ia3Adapters.layers(peft).get("bert.encoder.layer.0.output.dense");
            assertEquals(2.0f * out.vector("ffn").getArray().toFloatArray()[5],
                    out.vector("mix").getArray().toFloatArray()[5], 1e-6f);
            assertThrows(IllegalArgumentException.class,
                    () -> Ia3Adapters.addWeightedAdapter(peft, List.of("default"), List.of(1.0, 2.0), "x"));

            peft.deleteAdapter("ffn");
            peft.deleteAdapter("mix");
            peft.setAdapter("default");
            assertTrue(a.contentEquals(run(model, m)));
            assertInstanceOf(Linear.class, model.getModule("bert.encoder.layer.0.output.dense"),
                    "a layer left without adapters is the base layer again");
            peft.deleteAdapter("default");
            assertTrue(base.contentEquals(run(model, m)));
            assertTrue(Ia3Adapters.layers(peft).isEmpty());
        }
    }
}
