package dev.peft4j.tuners.bitfit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TinyClassifier;
import dev.peft4j.core.train.TrainingArguments;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BitFit over a tiny BERT classifier: what trains, the file, exact merging, adapters, errors. */
class BitFitTest {

    static NDArray run(BertForSequenceClassification model, NDManager m) {
        NDArray x = m.create(new long[][] {{2, 7, 8, 9, 3}, {2, 10, 11, 3, 0}});
        NDArray mask = m.create(new long[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}});
        return model.forward(new ParameterStore(m, false), x, mask, null, false);
    }

    static Map<String, float[]> values(Module model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.namedParameters().forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    static void train(PeftModel<?> peft, Path out) throws Exception {
        try (TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            FineTuner.builder().setModel(peft).setTrainData(TinyClassifier.TRAIN).optTokenizer(tokenizer)
                    .optArguments(TrainingArguments.builder().optOutputDir(out).optEpochs(2).optBatchSize(4)
                            .optLearningRate(5e-2).build())
                    .build().fit();
        }
    }

    /** Sets the adapter's live biases to seeded values. */
    static void randomize(PeftModel<?> peft, long seed) {
        java.util.Random r = new java.util.Random(seed);
        for (Parameter p : peft.adapterParameters(peft.activeAdapter()).values()) {
            float[] v = new float[(int) p.getArray().getShape().size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextGaussian();
            }
            Params.assign(p, peft.manager().create(v, p.getArray().getShape()));
        }
    }

    @Test
    void onlyTheSelectedBiasesAndTheHeadTrain(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model,
                    BitFitConfig.builder().optTaskType("SEQ_CLS").build(), m, 1);
            // every bias (8 modules with hidden-size biases, 12 for intermediate) but the classifier's
            assertEquals(List.of("bert.embeddings.LayerNorm", "bert.encoder.layer.0.attention.self.query",
                    "bert.encoder.layer.0.attention.self.key", "bert.encoder.layer.0.attention.self.value",
                    "bert.encoder.layer.0.attention.output.dense", "bert.encoder.layer.0.attention.output.LayerNorm",
                    "bert.encoder.layer.0.intermediate.dense", "bert.encoder.layer.0.output.dense",
                    "bert.encoder.layer.0.output.LayerNorm"), peft.targetPaths("default"));
            assertEquals(8 * 8 + 12 + 2 * 8 + 2, peft.trainableParameters().trainable(), "biases + classifier");
            Map<String, float[]> before = values(peft);
            train(peft, dir.resolve("run"));
            TreeSet<String> changed = new TreeSet<>();
            values(peft).forEach((k, v) -> {
                if (!Arrays.equals(before.get(k), v)) {
                    changed.add(k);
                }
            });
            assertTrue(changed.contains("base_model.model.classifier.weight"), changed.toString());
            for (String k : changed) {
                assertTrue(k.endsWith(".bias") || k.startsWith("base_model.model.classifier."), k + " changed");
            }
            assertTrue(changed.size() >= 8, changed.toString());
        }
    }

    @Test
    void thePapersSubsetTrainsQueryAndIntermediateBiases() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(TinyClassifier.create(m),
                    BitFitConfig.builder().setTargetModules(BitFitConfig.QUERY_AND_INTERMEDIATE).build(), m, 1);
            assertEquals(List.of("base_model.model.bert.encoder.layer.0.attention.self.query.bias",
                    "base_model.model.bert.encoder.layer.0.intermediate.dense.bias"),
                    List.copyOf(peft.adapterStateDict("default").keySet()));
            assertEquals(8 + 12, peft.trainableParameters().trainable());
        }
    }

    @Test
    void saveLoadRoundTripAndExactMerge(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            Map<String, float[]> weights = TinyClassifier.snapshot(model);
            NDArray base = run(model, m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model,
                    BitFitConfig.builder().optModulesToSave(List.of("classifier")).build(), m, 1);
            randomize(peft, 4);
            NDArray adapted = run(model, m);
            assertFalse(adapted.contentEquals(base));
            try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
                assertTrue(base.contentEquals(run(model, m)), "disabled: the original biases, bit-equal");
            }
            assertTrue(adapted.contentEquals(run(model, m)));
            peft.save(dir);
            String json = Files.readString(dir.resolve("adapter_config.json"));
            assertTrue(json.contains("\"peft_type\": \"BITFIT\"") && json.contains("\"target_modules\": \"all\""), json);
            try (TensorSource src = TensorSources.open(dir.resolve("adapter_model.safetensors"))) {
                assertTrue(src.contains("base_model.model.bert.encoder.layer.0.attention.self.query.bias"));
                assertTrue(src.contains("base_model.model.bert.embeddings.LayerNorm.bias"));
                assertTrue(src.contains("base_model.model.classifier.weight"));
                assertEquals(11, src.names().size(), src.names().toString());
            }

            BertForSequenceClassification fresh = TinyClassifier.create(m);
            TinyClassifier.restore(fresh, weights);
            PeftModel<BertForSequenceClassification> back = PeftModel.load(fresh, dir, m);
            assertTrue(adapted.contentEquals(run(fresh, m)), "bit-equal after the round trip");
            assertEquals(0, back.trainableParameters().trainable());

            BertForSequenceClassification merged = peft.mergeAndUnload(true);
            assertTrue(adapted.contentEquals(run(merged, m)), "merge is exact");
            BertForSequenceClassification unloaded = back.unload();
            // unload without merge restores the original biases (the classifier keeps its trained copy, as in PEFT)
            values(unloaded).forEach((k, v) -> {
                if (!k.startsWith("classifier.")) {
                    assertTrue(Arrays.equals(weights.get(k), v), k);
                }
            });
            assertFalse(Arrays.equals(weights.get("classifier.weight"), values(unloaded).get("classifier.weight")));
        }
    }

    @Test
    void adaptersSwitchAndDelete() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            NDArray base = run(model, m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, BitFitConfig.builder().build(), m, 1);
            randomize(peft, 1);
            NDArray a = run(model, m);
            peft.addAdapter("q", BitFitConfig.builder().setTargetModules(List.of("query")).build());
            peft.setAdapter("q");
            assertTrue(base.contentEquals(run(model, m)), "a fresh adapter holds the original biases");
            randomize(peft, 2);
            NDArray q = run(model, m);
            assertFalse(q.contentEquals(a));
            peft.setAdapter("default");
            assertTrue(a.contentEquals(run(model, m)));
            peft.setAdapter("q");
            assertTrue(q.contentEquals(run(model, m)));
            peft.deleteAdapter("q");
            assertEquals("default", peft.activeAdapter());
            assertTrue(a.contentEquals(run(model, m)));
            peft.deleteAdapter("default");
            assertTrue(base.contentEquals(run(model, m)));
        }
    }

    @Test
    void unknownBiasNamesFailNamingThem() {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            String before = model.describe();
            Map<String, float[]> values = values(model);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(model,
                    BitFitConfig.builder().setTargetModules(List.of("query", "querry", "pooler")).build(), m));
            assertTrue(e.getMessage().startsWith("target_modules [pooler, querry] name no module with a bias in"
                    + " BertForSequenceClassification; biases are e.g. bert.embeddings.LayerNorm"), e.getMessage());
            IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(model,
                    BitFitConfig.builder().setTargetModules(List.of("classifier")).optTaskType("SEQ_CLS").build(), m));
            assertTrue(c.getMessage().startsWith("target_modules [classifier] name no module with a bias in"
                    + " BertForSequenceClassification outside modules_to_save [classifier, score]"), c.getMessage());
            assertEquals(before, model.describe());
            values(model).forEach((k, v) -> assertTrue(Arrays.equals(values.get(k), v), k));
            assertEquals("target_modules \"all-linear\" is not a BitFit selection; use \"all\" (null) for every bias"
                    + " or name the modules", assertThrows(IllegalArgumentException.class,
                    () -> BitFitConfig.builder().setTargetModules(TargetModules.allLinear()).build()).getMessage());
        }
    }

    @Test
    void configJsonRoundTrip() {
        BitFitConfig c = BitFitConfig.builder().setTargetModules(BitFitConfig.QUERY_AND_INTERMEDIATE)
                .optExcludeModules(TargetModules.regex(".*layer\\.0\\..*")).optModulesToSave(List.of("classifier"))
                .optTaskType("SEQ_CLS").optBaseModelNameOrPath("m").build();
        assertEquals(c, BitFitConfigJson.parse(BitFitConfigJson.toJson(c)));
        BitFitConfig all = BitFitConfigJson.parse("{\"peft_type\": \"BITFIT\", \"target_modules\": \"all\"}");
        assertEquals(null, all.targetModules());
        assertEquals("{\n  \"auto_mapping\": null,\n  \"base_model_name_or_path\": null,\n  \"exclude_modules\": null,\n"
                + "  \"inference_mode\": false,\n  \"modules_to_save\": null,\n  \"peft_type\": \"BITFIT\",\n"
                + "  \"revision\": null,\n  \"target_modules\": \"all\",\n  \"task_type\": null\n}",
                BitFitConfigJson.toJson(all));
        assertEquals("inference_mode must be true or false, got 1", assertThrows(IllegalArgumentException.class,
                () -> BitFitConfigJson.parse("{\"peft_type\": \"BITFIT\", \"inference_mode\": 1}")).getMessage());
        assertEquals("peft_type must be \"BITFIT\", got \"IA3\"", assertThrows(IllegalArgumentException.class,
                () -> BitFitConfigJson.parse("{\"peft_type\": \"IA3\"}")).getMessage());
    }
}
