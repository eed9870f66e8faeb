package dev.peft4j.core.nn;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.PairList;
import dev.peft4j.core.io.ArrayTensorSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTreeTest {

    /** attention.self.{query,value} + LayerNorm, like a slice of a BERT layer. */
    static final class Layer extends Module {
        Layer() {
            Module self = new Container();
            ((Container) self).add("query", new Linear(4, 3, true));
            ((Container) self).add("value", new Linear(4, 3, false));
            registerModule("self", self);
            registerModule("norm", new LayerNorm(3, 1e-5f));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray x = in.singletonOrThrow();
            Module self = child("self");
            NDArray q = ((LinearLike) self.child("query")).forward(ps, x, training);
            NDArray v = ((LinearLike) self.child("value")).forward(ps, x, training);
            return new NDList(((LayerNorm) child("norm")).forward(ps, q.add(v), training));
        }
    }

    static final class Container extends Module {
        void add(String name, Module m) {
            registerModule(name, m);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }

    static final class Net extends Module {
        Net() {
            registerModule("layer", new ModuleList<>(List.of(new Layer(), new Layer())));
            registerModule("head", new Linear(3, 2, true));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray x = in.singletonOrThrow();
            ModuleList<?> layers = (ModuleList<?>) child("layer");
            NDArray h = layers.get(0).forward(ps, new NDList(x), training).singletonOrThrow();
            return new NDList(((Linear) child("head")).forward(ps, h, training));
        }
    }

    static final List<String> NAMES = List.of(
            "layer.0.self.query.weight", "layer.0.self.query.bias", "layer.0.self.value.weight",
            "layer.0.norm.weight", "layer.0.norm.bias",
            "layer.1.self.query.weight", "layer.1.self.query.bias", "layer.1.self.value.weight",
            "layer.1.norm.weight", "layer.1.norm.bias",
            "head.weight", "head.bias");

    @Test
    void parametersHaveHuggingFacePaths() {
        Net net = new Net();
        assertEquals(NAMES, new ArrayList<>(net.namedParameters().keySet()));
        assertEquals(NAMES, net.getParameters().keys());
        assertEquals(List.of("layer", "head"), net.getChildren().keys());
        assertEquals(List.of("", "layer", "layer.0", "layer.0.self", "layer.0.self.query",
                "layer.0.self.value", "layer.0.norm", "layer.1", "layer.1.self", "layer.1.self.query",
                "layer.1.self.value", "layer.1.norm", "head"), new ArrayList<>(net.namedModules().keySet()));
        // 2 * (12 + 3 + 12 + 3 + 3) + 6 + 2
        assertEquals(74, net.parameterCount());
    }

    @Test
    void findsModulesByPathAndExplainsMisses() {
        Net net = new Net();
        assertTrue(net.getModule("layer.1.self.query") instanceof Linear);
        assertSame(net, net.getModule(""));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> net.getModule("layer.1.self.key"));
        assertEquals("no module 'layer.1.self.key': 'layer.1.self' has no child 'key' (children: [query, value])",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> net.getModule("layer.7"));
        assertTrue(e.getMessage().contains("'layer' has no child '7' (children: [0, 1])"), e.getMessage());
    }

    /** A child added from outside (a PEFT method's modules) joins the paths; removing it restores them. */
    @Test
    void addsAndRemovesChildrenFromOutside() {
        Net net = new Net();
        Module layer = net.getModule("layer.1");
        Linear extra = layer.addChild("extra", new Linear(2, 3, true));
        assertTrue(net.getModule("layer.1.extra") == extra);
        assertTrue(net.namedParameters().containsKey("layer.1.extra.weight"));
        assertThrows(IllegalArgumentException.class, () -> layer.addChild("extra", new Linear(2, 3, true)));
        assertTrue(layer.removeChild("extra") == extra);
        assertEquals(NAMES, new ArrayList<>(net.namedParameters().keySet()));
        assertThrows(IllegalArgumentException.class, () -> layer.removeChild("extra"));
    }

    @Test
    void replacesChildInPlaceAndForwardUsesIt() {
        Net net = new Net();
        try (NDManager m = NDManager.newBaseManager()) {
            net.initialize(m, DataType.FLOAT32);
            NDArray x = m.randomNormal(new Shape(2, 4));
            ParameterStore ps = new ParameterStore(m, false);
            NDArray before = net.forward(ps, new NDList(x), false).singletonOrThrow();

            Linear replacement = new Linear(4, 3, true);
            replacement.initialize(m, DataType.FLOAT32);
            Module old = net.setModule("layer.0.self.query", replacement);
            assertTrue(old instanceof Linear);
            assertSame(replacement, net.getModule("layer.0.self.query"));
            assertEquals(NAMES, new ArrayList<>(net.namedParameters().keySet()), "order is kept");
            NDArray after = net.forward(ps, new NDList(x), false).singletonOrThrow();
            assertFalse(before.allClose(after), "forward must use the replacement");

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> net.setModule("layer.0.self.key", replacement));
            assertTrue(e.getMessage().contains("has no child 'key'"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> net.setModule("", replacement));
        }
    }

    @Test
    void freezesByPredicateAndCounts() {
        Net net = new Net();
        try (NDManager m = NDManager.newBaseManager()) {
            net.initialize(m, DataType.FLOAT32);
            assertEquals(74, net.trainableParameterCount());
            assertEquals(12, net.freeze(p -> true));
            assertEquals(0, net.trainableParameterCount());
            assertEquals(2, net.unfreeze(p -> p.startsWith("head.")));
            assertEquals(8, net.trainableParameterCount());
            assertTrue(net.namedParameters().get("head.weight").getArray().hasGradient());
            assertFalse(net.namedParameters().get("layer.0.norm.weight").requiresGradient());
        }
    }

    /** A model whose output head shares the embedding matrix. */
    static final class Tied extends Module {
        Tied() {
            Embedding emb = registerModule("embed", new Embedding(5, 3));
            Linear head = new Linear(3, 5, false);
            registerModule("lm_head", head);
            head.shareParameter("weight", emb.parameter("weight"));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void tiedParameterCountsOnceAndLoadsFromEitherName() {
        Tied t = new Tied();
        assertEquals(List.of("embed.weight"), new ArrayList<>(t.namedParameters().keySet()));
        assertEquals(15, t.parameterCount());
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.arange(15f).reshape(5, 3);
            StateDictReport r = StateDictLoader.builder()
                    .setSource(ArrayTensorSource.of(Map.of("lm_head.weight", w)))
                    .setManager(m).build().load(t);
            assertTrue(r.isClean(), r.summary());
            assertSame(t.getModule("embed").parameter("weight").getArray(),
                    t.getModule("lm_head").parameter("weight").getArray());
        }
    }

    @Test
    void strictLoadListsEveryProblemAndChangesNothing() {
        Net net = new Net();
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> sd = new LinkedHashMap<>();
            for (String n : NAMES) {
                sd.put(n, m.zeros(net.getModule(n.substring(0, n.lastIndexOf('.')))
                        .expectedShape(n.substring(n.lastIndexOf('.') + 1))));
            }
            sd.remove("layer.1.norm.bias");
            sd.put("head.weight", m.zeros(new Shape(2, 4)));
            sd.put("pooler.dense.weight", m.zeros(new Shape(3, 3)));
            StateDictException e = assertThrows(StateDictException.class, () -> StateDictLoader.builder()
                    .setSource(ArrayTensorSource.of(sd)).setManager(m).build().load(net));
            assertEquals("state dict from <memory> does not match the model, nothing was loaded;"
                    + " 2 missing: layer.1.norm.bias, head.weight; 1 unexpected: pooler.dense.weight;"
                    + " 1 shape mismatch: head.weight expected (2, 3) but checkpoint has (2, 4)", e.getMessage());
            assertFalse(net.namedParameters().values().stream().anyMatch(Parameter::isInitialized),
                    "a failed strict load must not touch the model");

            StateDictReport r = StateDictLoader.builder().setSource(ArrayTensorSource.of(sd))
                    .setManager(m).optStrict(false).optIgnore(k -> k.startsWith("pooler.")).build().load(net);
            assertEquals(10, r.loaded());
            assertEquals(List.of("layer.1.norm.bias", "head.weight"), r.missing());
            assertEquals(List.of(), r.unexpected());
        }
    }

    @Test
    void reloadOverwritesInPlaceAndKeepsTrainability() {
        Linear lin = new Linear(2, 2, false);
        try (NDManager m = NDManager.newBaseManager()) {
            lin.initialize(m, DataType.FLOAT32);
            NDArray arr = lin.parameter("weight").getArray();
            StateDictLoader.builder()
                    .setSource(ArrayTensorSource.of(Map.of("weight", m.create(new float[] {1, 2, 3, 4}, new Shape(2, 2)))))
                    .setManager(m).build().load(lin);
            assertSame(arr, lin.parameter("weight").getArray());
            assertArrayEquals(new float[] {1, 2, 3, 4}, arr.toFloatArray());
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray y = lin.forward(new ParameterStore(m, false), m.ones(new Shape(1, 2)), true);
                gc.backward(y.sum());
            }
            assertArrayEquals(new float[] {1, 1, 1, 1}, arr.getGradient().toFloatArray());
        }
    }

    @Test
    void djlTrainerUpdatesOnlyTrainableParameters() {
        Net net = new Net();
        try (Model model = Model.newInstance("net")) {
            model.setBlock(net);
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.1f)).build());
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(2, 4));
                net.freeze(p -> p.startsWith("layer."));
                NDManager m = trainer.getManager();
                float[] frozenBefore = net.namedParameters().get("layer.0.self.query.weight").getArray().toFloatArray();
                float[] headBefore = net.namedParameters().get("head.weight").getArray().toFloatArray();
                NDArray x = m.randomNormal(new Shape(2, 4));
                NDArray target = m.ones(new Shape(2, 2));
                try (GradientCollector gc = trainer.newGradientCollector()) {
                    NDList pred = trainer.forward(new NDList(x));
                    gc.backward(trainer.getLoss().evaluate(new NDList(target), pred));
                }
                trainer.step();
                assertArrayEquals(frozenBefore,
                        net.namedParameters().get("layer.0.self.query.weight").getArray().toFloatArray());
                assertNotEquals(headBefore[0],
                        net.namedParameters().get("head.weight").getArray().toFloatArray()[0]);
            }
        }
    }

    @Test
    void addChildAndRemoveChildFromOutside() {
        Layer layer = new Layer();
        int params = layer.namedParameters().size();
        Linear extra = layer.addChild("prompt_encoder", new Linear(2, 2, false));
        assertSame(extra, layer.getModule("prompt_encoder"));
        assertEquals(List.of("self", "norm", "prompt_encoder"), List.copyOf(layer.children().keySet()));
        assertEquals(params + 1, layer.namedParameters().size());
        assertTrue(layer.namedParameters().containsKey("prompt_encoder.weight"));
        assertEquals("'norm' is already registered in Layer",
                assertThrows(IllegalArgumentException.class, () -> layer.addChild("norm", new Linear(1, 1, false)))
                        .getMessage());
        assertSame(extra, layer.removeChild("prompt_encoder"));
        assertEquals(params, layer.namedParameters().size());
        assertThrows(IllegalArgumentException.class, () -> layer.removeChild("prompt_encoder"));
    }
}
