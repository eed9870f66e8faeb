package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.io.ArrayTensorSource;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.AdapterFiles;
import dev.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeftModelTest {

    private static LoraConfig.Builder qv(int r) {
        return LoraConfig.builder().setTargetModules("query", "value").optR(r).optInitLoraWeights(LoraInit.RANDOM);
    }

    private static Set<String> trainable(Module m) {
        return m.namedParameters().entrySet().stream().filter(e -> e.getValue().requiresGradient())
                .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void wrapFreezesBaseAndReportsLikePeft() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(8, m, 1);
            PeftModel<?> p = PeftModel.wrap(net, LoraConfig.builder().setTargetModules("query", "value").optR(2).build(), m);
            // 4 layers * (2*8 + 8*2); base 2*(2*(64+8)) + 18 = 306
            assertEquals("trainable params: 128 || all params: 434 || trainable%: 29.4931",
                    p.trainableParameters().toString());
            assertEquals(4 * 2, trainable(p).size());
            assertTrue(trainable(p).stream().allMatch(k -> k.contains(".lora_A.default.") || k.contains(".lora_B.default.")));
            assertEquals(List.of("layer.0.attention.query", "layer.0.attention.value", "layer.1.attention.query",
                    "layer.1.attention.value"), p.targetPaths("default"));
        }
    }

    @Test
    void gradientsReachOnlyTheActiveAdapter() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(4, m, 1);
            PeftModel<?> p = PeftModel.wrap(net, LoraConfig.builder().setTargetModules("query").optR(2).optUseDora(true).build(), m);
            p.addAdapter("other", LoraConfig.builder().setTargetModules("query").optR(2).build());
            NDArray x = TinyNet.input(m, 3, 4, 5);
            try (ai.djl.training.GradientCollector gc = m.getEngine().newGradientCollector()) {
                gc.backward(TinyNet.run(p, x, true).sum());
            }
            LoraLinear l = LoraAdapters.loraLayers(p).get("layer.0.attention.query");
            // B starts at zero, so the first step moves B (and the magnitude), not A
            assertTrue(l.loraB("default").parameter("weight").getArray().getGradient().abs().sum().getFloat() > 0);
            assertTrue(l.magnitude("default").getArray().getGradient().abs().sum().getFloat() > 0);
            assertFalse(l.loraB("other").parameter("weight").requiresGradient());
            assertFalse(((Linear) l.baseLayer()).parameter("weight").requiresGradient());
        }
    }

    @Test
    void biasModesAndModulesToSave() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(4, m, 1);
            Module classifier = net.getModule("classifier");
            PeftModel<?> p = PeftModel.wrap(net, qv(2).optBias(LoraBias.LORA_ONLY).optModulesToSave(List.of("classifier")).build(), m);
            Set<String> t = trainable(p);
            assertTrue(t.contains("base_model.model.layer.0.attention.query.base_layer.bias"));
            assertTrue(t.contains("base_model.model.classifier.weight") && t.contains("base_model.model.classifier.bias"));
            assertFalse(t.contains("base_model.model.layer.0.attention.query.base_layer.weight"));
            assertNotSame(classifier, net.getModule("classifier"), "a trainable copy replaces the head");
            assertFalse(classifier.parameter("weight").requiresGradient());
            assertEquals(List.of("base_model.model.classifier.bias", "base_model.model.classifier.weight",
                    "base_model.model.layer.0.attention.query.base_layer.bias",
                    "base_model.model.layer.0.attention.query.lora_A.weight",
                    "base_model.model.layer.0.attention.query.lora_B.weight"),
                    p.adapterStateDict("default").keySet().stream().sorted().limit(5).collect(Collectors.toList()));
            try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                assertSame(classifier, net.getModule("classifier"));
                assertTrue(trainable(p).isEmpty());
            }
            assertNotSame(classifier, net.getModule("classifier"));

            TinyNet net2 = TinyNet.create(4, m, 1);
            PeftModel<?> all = PeftModel.wrap(net2, qv(2).optBias(LoraBias.ALL).build(), m);
            assertTrue(trainable(all).contains("base_model.model.classifier.bias"));
            assertEquals(5 + 4 * 2, trainable(all).size(), "5 biases + A and B of 4 layers");

            TinyNet net3 = TinyNet.create(4, m, 1);
            PeftModel<?> seq = PeftModel.wrap(net3, qv(2).optTaskType("SEQ_CLS").build(), m);
            assertEquals(List.of("classifier"), seq.config("default").modulesToSave());
            assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(TinyNet.create(4, m, 1),
                    qv(2).optModulesToSave(List.of("pooler")).build(), m));
        }
    }

    @Test
    void multipleAdaptersDisableAndDelete() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(6, m, 1);
            NDArray x = TinyNet.input(m, 3, 6, 5);
            NDArray base = TinyNet.run(net, x, false);
            PeftModel<?> p = PeftModel.wrap(net, qv(2).build(), m);
            NDArray outA = TinyNet.run(p, x, false);
            assertFalse(outA.allClose(base));
            p.addAdapter("other", LoraConfig.builder().setTargetModules("value").optR(3)
                    .optInitLoraWeights(LoraInit.RANDOM).build());
            assertEquals("default", p.activeAdapter());
            assertTrue(outA.contentEquals(TinyNet.run(p, x, false)), "adding does not activate");
            p.setAdapter("other");
            assertTrue(trainable(p).stream().allMatch(k -> k.contains(".other.")));
            assertEquals(4, trainable(p).size());
            NDArray outB = TinyNet.run(p, x, false);
            assertFalse(outB.allClose(outA));
            try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                assertTrue(base.contentEquals(TinyNet.run(p, x, false)));
            }
            assertTrue(outB.contentEquals(TinyNet.run(p, x, false)));
            p.deleteAdapter("other");
            assertEquals("default", p.activeAdapter());
            assertTrue(outA.contentEquals(TinyNet.run(p, x, false)));
            assertEquals("adapter 'default' already exists", assertThrows(IllegalArgumentException.class,
                    () -> p.addAdapter("default", qv(2).build())).getMessage());
            assertEquals("no adapter 'nope' (adapters: [default])", assertThrows(IllegalArgumentException.class,
                    () -> p.setAdapter("nope")).getMessage());
            p.deleteAdapter("default");
            assertTrue(LoraAdapters.loraLayers(p).isEmpty());
            assertTrue(base.contentEquals(TinyNet.run(p, x, false)));
        }
    }

    @Test
    void mergeUnmergeAndUnload() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (boolean dora : new boolean[] {false, true}) {
                TinyNet net = TinyNet.create(6, m, 1);
                NDArray x = TinyNet.input(m, 3, 6, 5);
                float[] w0 = net.getModule("layer.0.attention.query").parameter("weight").getArray().toFloatArray();
                PeftModel<?> p = PeftModel.wrap(net, qv(2).optUseDora(dora).optLoraAlpha(4).build(), m);
                NDArray unmerged = TinyNet.run(p, x, false);
                p.merge(true);
                p.merge(true);
                Linear q = (Linear) LoraAdapters.loraLayers(p).get("layer.0.attention.query").baseLayer();
                float[] w1 = q.parameter("weight").getArray().toFloatArray();
                assertTrue(maxAbsDiff(unmerged, TinyNet.run(p, x, false)) < 1e-5, "merged = unmerged, dora=" + dora);
                p.merge();
                assertArrayEquals(w1, q.parameter("weight").getArray().toFloatArray(), "merging twice is a no-op");
                p.unmerge();
                assertArrayEquals(w0, q.parameter("weight").getArray().toFloatArray(), 1e-5f);
                Module plain = p.mergeAndUnload();
                assertSame(net, plain);
                assertTrue(plain.namedModules().values().stream().noneMatch(mod -> mod instanceof LoraLinear));
                assertTrue(plain.namedParameters().keySet().stream().noneMatch(k -> k.contains("lora")));
                assertTrue(maxAbsDiff(unmerged, TinyNet.run(plain, x, false)) < 1e-5);
                assertEquals("this PeftModel was unloaded; use the returned base model",
                        assertThrows(IllegalStateException.class, p::merge).getMessage());
            }
            TinyNet net = TinyNet.create(6, m, 1);
            NDArray x = TinyNet.input(m, 3, 6, 5);
            NDArray base = TinyNet.run(net, x, false);
            PeftModel<?> p = PeftModel.wrap(net, qv(2).build(), m);
            assertTrue(base.contentEquals(TinyNet.run(p.unload(), x, false)), "unload does not merge");
        }
    }

    @Test
    void weightedAdapters() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(6, m, 1);
            PeftModel<?> p = PeftModel.wrap(net, qv(2).optLoraAlpha(4).build(), m, 1);
            p.addAdapter("b", qv(2).optLoraAlpha(2).build());
            p.addAdapter("c", qv(3).optLoraAlpha(6).build());
            LoraLinear l = LoraAdapters.loraLayers(p).get("layer.1.attention.value");
            NDArray da = l.deltaWeight("default", m);
            NDArray db = l.deltaWeight("b", m);
            NDArray dc = l.deltaWeight("c", m);

            LoraAdapters.addWeightedAdapter(p, List.of("default", "c"), List.of(0.5, -2.0), "cat", Combination.CAT);
            assertEquals(5, LoraAdapters.config(p, "cat").r());
            assertEquals(1.0, l.settings("cat").scaling());
            assertTrue(maxAbsDiff(l.deltaWeight("cat", m), da.mul(0.5).add(dc.mul(-2))) < 1e-5);

            LoraAdapters.addWeightedAdapter(p, List.of("default", "b"), List.of(0.7, -0.3), "lin", Combination.LINEAR);
            NDArray a0 = l.loraA("default").parameter("weight").getArray();
            NDArray b0 = l.loraB("default").parameter("weight").getArray();
            NDArray a1 = l.loraA("b").parameter("weight").getArray();
            NDArray b1 = l.loraB("b").parameter("weight").getArray();
            double s0 = Math.sqrt(0.7 * 2);
            double s1 = Math.sqrt(0.3 * 1);
            NDArray expected = b0.mul(s0).add(b1.mul(s1)).matMul(a0.mul(s0).add(a1.mul(-s1)));
            assertTrue(maxAbsDiff(l.deltaWeight("lin", m), expected) < 1e-5, "PEFT's sqrt-weight scheme");
            assertEquals("all adapters must have the same r for the linear combination, got [2, 3]",
                    assertThrows(IllegalArgumentException.class, () -> LoraAdapters.addWeightedAdapter(p, List.of("default", "c"),
                            List.of(1.0, 1.0), "bad", Combination.LINEAR)).getMessage());

            LoraAdapters.addWeightedAdapter(p, List.of("default", "b"), List.of(0.5, 2.0), "svd", Combination.SVD, 4);
            // PEFT's svd: Σ (w·s)·(s·B·A); rank 4 holds the rank-4 sum exactly
            NDArray svdExpected = da.mul(0.5 * 2).add(db.mul(2.0 * 1));
            assertTrue(maxAbsDiff(l.deltaWeight("svd", m), svdExpected) < 1e-5);
            assertEquals(new Shape(4, 6), l.loraA("svd").parameter("weight").getArray().getShape());
        }
    }

    @Test
    void pissaKeepsTheOutputAndMovesTheTopSubspace() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (LoraInit init : List.of(LoraInit.PISSA, LoraInit.pissa(4))) {
                TinyNet net = TinyNet.create(8, m, 1);
                NDArray x = TinyNet.input(m, 3, 8, 5);
                NDArray base = TinyNet.run(net, x, false);
                float[] w0 = net.getModule("layer.0.attention.query").parameter("weight").getArray().toFloatArray();
                PeftModel<?> p = PeftModel.wrap(net, LoraConfig.builder().setTargetModules("query").optR(8)
                        .optLoraAlpha(4).optInitLoraWeights(init).build(), m);
                assertTrue(maxAbsDiff(base, TinyNet.run(p, x, false)) < 1e-4, init + " keeps the output");
                float[] residual = ((Linear) LoraAdapters.loraLayers(p).get("layer.0.attention.query").baseLayer())
                        .parameter("weight").getArray().toFloatArray();
                double norm = 0;
                for (float v : residual) {
                    norm += v * v;
                }
                assertTrue(norm < 1e-6, init + ": at full rank the residual is ~0, got " + norm);
                assertTrue(w0[0] != residual[0]);
            }
            assertEquals("PiSSA needs r <= min(in, out) but layer.0.attention.query is 8x8 and r is 9",
                    assertThrows(IllegalArgumentException.class, () -> PeftModel.wrap(TinyNet.create(8, m, 1),
                            LoraConfig.builder().setTargetModules("query").optR(9).optInitLoraWeights(LoraInit.PISSA)
                                    .build(), m)).getMessage());
        }
    }

    @Test
    void saveLoadRoundTripIsBitExact(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(6, m, 1);
            NDArray x = TinyNet.input(m, 3, 6, 5);
            PeftModel<?> p = PeftModel.wrap(net, qv(2).optUseDora(true).optModulesToSave(List.of("classifier"))
                    .optBaseModelNameOrPath("tiny").build(), m);
            Params.assign(((Linear) net.getModule("classifier")).parameter("bias"), m.create(new float[] {3, 4}));
            p.addAdapter("second", LoraConfig.builder().setTargetModules("value").optR(1).build());
            NDArray out = TinyNet.run(p, x, false);
            p.save(dir);
            assertTrue(Files.exists(dir.resolve("adapter_config.json")));
            assertTrue(Files.exists(dir.resolve("second/adapter_model.safetensors")));
            try (Stream s = new Stream(dir)) {
                assertEquals(List.of("adapter_config.json", "adapter_model.safetensors", "second"), s.names);
            }
            String json = Files.readString(dir.resolve("adapter_config.json"));
            assertTrue(json.contains("\"inference_mode\": true") && json.contains("\"use_dora\": true")
                    && json.contains("\"peft_type\": \"LORA\""), json);
            try (TensorSource src = TensorSources.open(dir.resolve("adapter_model.safetensors"))) {
                assertEquals("pt", src.metadata().get("format"));
                assertEquals(2, src.metadata().size(), src.metadata().toString());
                assertTrue(AdapterFiles.savedWith(src, dir.resolve("adapter_config.json")));
                assertFalse(AdapterFiles.savedWith(src, dir.resolve("second/adapter_config.json")),
                        "another config than the one saved with the weights");
                assertTrue(src.contains("base_model.model.layer.1.attention.value.lora_magnitude_vector"));
                assertTrue(src.contains("base_model.model.classifier.weight"));
                assertEquals(4 * 3 + 2, src.names().size());
            }

            TinyNet fresh = TinyNet.create(6, m, 1);
            PeftModel<?> q = PeftModel.load(fresh, dir, m);
            assertTrue(trainable(q).isEmpty(), "loaded in inference mode");
            assertTrue(out.contentEquals(TinyNet.run(q, x, false)), "bit-exact");
            for (Map.Entry<String, NDArray> e : p.adapterStateDict("default").entrySet()) {
                assertTrue(e.getValue().contentEquals(q.adapterStateDict("default").get(e.getKey())), e.getKey());
            }
            // a hand-edited config still loads (with a warning that the pair differs)
            Path second = dir.resolve("second/adapter_config.json");
            Files.writeString(second, Files.readString(second).replace("\"inference_mode\": true",
                    "\"inference_mode\": false"));
            try (TensorSource src = TensorSources.open(dir.resolve("second/adapter_model.safetensors"))) {
                assertFalse(AdapterFiles.savedWith(src, second));
            }
            q.loadAdapter(dir.resolve("second"), "second", true);
            q.setAdapter("second");
            p.setAdapter("second");
            assertTrue(TinyNet.run(p, x, false).contentEquals(TinyNet.run(q, x, false)));
            assertEquals(2 * 2, trainable(q).size(), "A and B of the two value layers");
        }
    }

    @Test
    void loadErrorsNameTensorsAndShapes() {
        try (NDManager m = NDManager.newBaseManager()) {
            LoraConfig cfg = LoraConfig.builder().setTargetModules("query").optR(2).build();
            Map<String, NDArray> sd = new LinkedHashMap<>();
            for (int i = 0; i < 2; i++) {
                String k = "base_model.model.layer." + i + ".attention.query.";
                sd.put(k + "lora_A.weight", m.zeros(new Shape(2, 4)));
                sd.put(k + "lora_B.weight", m.zeros(new Shape(4, 2)));
            }
            sd.put("base_model.model.layer.1.attention.query.lora_B.weight", m.zeros(new Shape(4, 3)));
            sd.remove("base_model.model.layer.0.attention.query.lora_A.weight");
            TinyNet net = TinyNet.create(4, m, 1);
            PeftModel<?> p = PeftModel.wrap(net, LoraConfig.builder().setTargetModules("value").build(), m);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.loadAdapter(cfg, ArrayTensorSource.of(sd), "x"));
            assertEquals("adapter weights in <memory> do not match: missing tensor"
                    + " base_model.model.layer.0.attention.query.lora_A.weight; tensor"
                    + " base_model.model.layer.1.attention.query.lora_B.weight has shape (4, 3) but the model"
                    + " expects (4, 2)", e.getMessage());
            assertEquals(Set.of("default"), p.adapterNames(), "a failed load leaves no adapter behind");
            assertTrue(LoraAdapters.loraLayers(p).keySet().stream().allMatch(k -> k.endsWith("value")));
        }
    }

    /** Directory listing helper. */
    private static final class Stream implements AutoCloseable {
        final List<String> names = new ArrayList<>();

        Stream(Path dir) throws java.io.IOException {
            try (java.util.stream.Stream<Path> s = Files.list(dir)) {
                s.map(x -> x.getFileName().toString()).sorted().forEach(names::add);
            }
        }

        @Override
        public void close() {}
    }

}
