package dev.peft4j.core.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Params;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The core knows no method: a test-only one ({@link ScaleMethod}) goes through the whole life cycle. */
class PeftMethodSpiTest {

    private static final int D = 4;

    @BeforeAll
    static void register() {
        PeftMethods.register(new ScaleMethod());
    }

    private static ScaleConfig query(String task) {
        return new ScaleConfig(List.of("query"), null, task, false);
    }

    private static float[] run(PeftModel<?> p, NDManager m) {
        NDArray x = m.arange(0f, 2f * D).reshape(2, D).div(8f);
        return p.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow().toFloatArray();
    }

    private static void setScale(PeftModel<?> p, String adapter, float value, NDManager m) {
        for (String path : p.targetPaths(adapter)) {
            ScaleLinear s = (ScaleLinear) p.baseModel().getModule(path);
            Params.assign(s.vector(adapter), m.full(new Shape(D), value));
        }
    }

    @Test
    void wrapSaveLoadDisableDeleteThroughTheSpi(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            ToyNet net = ToyNet.create(D, m, 1);
            PeftModel<ToyNet> p = PeftModel.wrap(net, query("SEQ_CLS"), m);
            float[] base;
            try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                base = run(p, m);
            }
            assertEquals(List.of("layer.0.query", "layer.1.query"), p.targetPaths("default"));
            assertEquals(List.of("classifier"), p.config("default").modulesToSave(), "SEQ_CLS saves the head");
            // two scale vectors (4 each) and the classifier copy (4x2 + 2)
            assertEquals(8 + 10, p.trainableParameters().trainable());
            assertArrayEquals(base, run(p, m), 0f, "initialized to ones: the base's outputs");

            setScale(p, "default", 2f, m);
            float[] trained = run(p, m);
            assertFalse(java.util.Arrays.equals(base, trained));
            try (PeftModel<?>.AdaptersDisabled off = p.disableAdapters()) {
                assertArrayEquals(base, run(p, m), 0f);
                assertEquals(0, p.trainableParameters().trainable());
            }
            assertArrayEquals(trained, run(p, m), 0f);

            p.save(dir);
            String json = Files.readString(dir.resolve(AdapterFiles.CONFIG_FILE));
            assertTrue(json.contains("\"peft_type\":\"SCALE\"") && json.contains("\"inference_mode\":true"), json);
            try (TensorSource src = TensorSources.open(dir.resolve(AdapterFiles.WEIGHTS_FILE))) {
                assertEquals(Set.of("base_model.model.layer.0.query.scale_vector",
                        "base_model.model.layer.1.query.scale_vector", "base_model.model.classifier.weight",
                        "base_model.model.classifier.bias"), new TreeSet<>(src.names()));
                assertTrue(AdapterFiles.savedWith(src, dir.resolve(AdapterFiles.CONFIG_FILE)));
                assertNotNull(src.metadata().get(AdapterFiles.CONFIG_DIGEST_KEY));
            }

            PeftModel<ToyNet> q = PeftModel.load(ToyNet.create(D, m, 1), dir, m);
            assertEquals("SCALE", q.method().peftType());
            assertTrue(q.config("default").inferenceMode());
            assertEquals(0, q.trainableParameters().trainable());
            assertArrayEquals(trained, run(q, m), 0f, "the loaded adapter computes what was saved");

            q.loadAdapter(dir, "again", true);
            q.setAdapter("again");
            assertEquals(8 + 10, q.trainableParameters().trainable());
            q.deleteAdapter("again");
            assertEquals("default", q.activeAdapter());
            q.deleteAdapter("default");
            assertEquals(Set.of(), q.adapterNames());
            assertInstanceOf(Linear.class, q.baseModel().getModule("layer.0.query"), "layers given back");
            assertArrayEquals(base, run(q, m), 0f);
            assertEquals(p.baseModel().namedParameters().size() - 2, q.baseModel().namedParameters().size(),
                    "the two vectors are gone, the original head is back");
        }
    }

    @Test
    void anUnmergeableMethodSaysSoAndChangesNothing() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<ToyNet> p = PeftModel.wrap(ToyNet.create(D, m, 1), query(null), m);
            setScale(p, "default", 3f, m);
            float[] before = run(p, m);
            assertEquals("SCALE adapters cannot be merged",
                    assertThrows(UnsupportedOperationException.class, p::merge).getMessage());
            assertEquals("SCALE adapters cannot be merged",
                    assertThrows(UnsupportedOperationException.class, p::mergeAndUnload).getMessage());
            assertEquals("SCALE adapters cannot be merged",
                    assertThrows(UnsupportedOperationException.class, p::mergeAndUnloadDense).getMessage());
            assertFalse(p.isMerged());
            assertArrayEquals(before, run(p, m), 0f, "still adapted and usable");
            ToyNet plain = p.unload();
            assertInstanceOf(Linear.class, plain.getModule("layer.1.query"));
        }
    }

    @Test
    void injectionIsAllOrNothingAndModulesToSaveCannotBeTargets() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<ToyNet> p = PeftModel.wrap(ToyNet.create(D, m, 1), query(null), m);
            int params = p.namedParameters().size();
            assertEquals("module 'classifier' is both a SCALE target and in modules_to_save",
                    assertThrows(IllegalArgumentException.class, () -> p.addAdapter("b",
                            new ScaleConfig(List.of("classifier"), List.of("classifier"), null, false))).getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.addAdapter("c",
                    new ScaleConfig(List.of("nope"), null, null, false)));
            assertEquals(Set.of("default"), p.adapterNames());
            assertEquals(params, p.namedParameters().size());
        }
    }

    @Test
    void anUnknownPeftTypeNamesItTheFileAndTheKnownTypes(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"NOPE\", \"r\": 4}");
        try (NDManager m = NDManager.newBaseManager()) {
            String msg = assertThrows(IllegalArgumentException.class,
                    () -> PeftModel.load(ToyNet.create(D, m, 1), dir, m)).getMessage();
            assertTrue(msg.startsWith(dir.resolve("adapter_config.json") + ": unknown peft_type \"NOPE\" (known: ["), msg);
            assertTrue(msg.contains("SCALE"), msg);
            Files.writeString(dir.resolve("adapter_config.json"), "{\"r\": 4}");
            assertEquals(dir.resolve("adapter_config.json") + ": missing required key 'peft_type'",
                    assertThrows(IllegalArgumentException.class,
                            () -> PeftModel.load(ToyNet.create(D, m, 1), dir, m)).getMessage());
        }
    }

    /**
     * A directory without {@code peft_type} loads through the method that recognizes it (another
     * library's format); one that no method recognizes still fails on the missing key.
     */
    @Test
    void aConfigWithoutPeftTypeLoadsThroughTheMethodThatRecognizesIt(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<ToyNet> p = PeftModel.wrap(ToyNet.create(D, m, 1), query(null), m);
            setScale(p, "default", 3f, m);
            float[] trained = run(p, m);
            p.save(dir);
            Path config = dir.resolve(AdapterFiles.CONFIG_FILE);
            Files.writeString(config, "{\"format\": \"toy-foreign\", \"target_modules\": [\"query\"], \"inference_mode\": true}");
            PeftModel<ToyNet> q = PeftModel.load(ToyNet.create(D, m, 1), dir, m);
            assertEquals("SCALE", q.method().peftType());
            assertArrayEquals(trained, run(q, m), 0f);

            Files.writeString(config, "{\"format\": \"other\", \"target_modules\": [\"query\"]}");
            assertEquals(config + ": missing required key 'peft_type'", assertThrows(IllegalArgumentException.class,
                    () -> PeftModel.load(ToyNet.create(D, m, 1), dir, m)).getMessage());
        }
    }
}
