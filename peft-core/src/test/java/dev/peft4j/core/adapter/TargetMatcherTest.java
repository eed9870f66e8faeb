package dev.peft4j.core.adapter;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.LayerNorm;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.nn.ModuleList;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TargetMatcherTest {

    /** encoder.layer.{0,1,2}.attention.{query,key,value} + output.dense + norm, and lm_head. */
    static final class Net extends Module {
        Net() {
            ModuleList<ModuleDict> layers = new ModuleList<>(List.of(layer(), layer(), layer()));
            ModuleDict encoder = new ModuleDict();
            encoder.put("layer", layers);
            registerModule("encoder", encoder);
            registerModule("lm_head", new Linear(4, 6, false));
        }

        static ModuleDict layer() {
            ModuleDict attention = new ModuleDict();
            attention.put("query", new Linear(4, 4, true));
            attention.put("key", new Linear(4, 4, true));
            attention.put("value", new Linear(4, 4, true));
            ModuleDict output = new ModuleDict();
            output.put("dense", new Linear(4, 4, true));
            ModuleDict l = new ModuleDict();
            l.put("attention", attention);
            l.put("output", output);
            l.put("norm", new LayerNorm(4, 1e-5f));
            return l;
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }

    private static List<String> select(TargetMatcher.Builder b) {
        return b.build().select(new Net());
    }

    @Test
    void listMatchesEqualOrDotSuffix() {
        assertEquals(List.of("encoder.layer.0.attention.query", "encoder.layer.1.attention.query",
                        "encoder.layer.2.attention.query"),
                select(TargetMatcher.builder().setTargetModules(TargetModules.of("query"))));
        assertEquals(List.of("encoder.layer.1.output.dense"), select(TargetMatcher.builder()
                .setTargetModules(TargetModules.of("layer.1.output.dense"))));
        // "uery" is not a dotted suffix
        assertFalse(TargetModules.of("uery").matches("encoder.layer.0.attention.query"));
        assertTrue(TargetModules.of("lm_head").matches("lm_head"));
    }

    @Test
    void stringIsFullMatchRegex() {
        assertEquals(List.of("encoder.layer.2.attention.key", "encoder.layer.2.attention.value"),
                select(TargetMatcher.builder().setTargetModules(TargetModules.parse(".*\\.2\\..*(key|value)"))));
        // not a search: "query" alone must match the whole path
        assertFalse(TargetModules.parse("query").matches("encoder.layer.0.attention.query"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetModules.parse("(query"));
        assertTrue(e.getMessage().startsWith("invalid regular expression '(query'"), e.getMessage());
    }

    @Test
    void allLinearSkipsOutputLayer() {
        TargetMatcher m = TargetMatcher.builder().setTargetModules(TargetModules.parse("ALL-LINEAR")).build();
        Net net = new Net();
        assertEquals(List.of("dense", "key", "query", "value"), m.resolve(net).targets().names());
        List<String> paths = m.select(net);
        assertEquals(12, paths.size());
        assertFalse(paths.contains("lm_head"));
    }

    @Test
    void excludeWins() {
        assertEquals(List.of("encoder.layer.0.attention.query", "encoder.layer.2.attention.query"),
                select(TargetMatcher.builder().setTargetModules(TargetModules.of("query"))
                        .optExcludeModules(TargetModules.of("layer.1.attention.query"))));
        assertEquals(4, select(TargetMatcher.builder().setTargetModules(TargetModules.allLinear())
                .optExcludeModules(TargetModules.parse(".*\\.(query|key|value)"))).size() + 1);
    }

    @Test
    void layersToTransformWithAndWithoutPattern() {
        assertEquals(List.of("encoder.layer.0.attention.value", "encoder.layer.2.attention.value"),
                select(TargetMatcher.builder().setTargetModules(TargetModules.of("value"))
                        .optLayersToTransform(List.of(0, 2)).optLayersPattern(List.of("layer"))));
        assertEquals(List.of("encoder.layer.1.attention.value"),
                select(TargetMatcher.builder().setTargetModules(TargetModules.of("value"))
                        .optLayersToTransform(List.of(1))));
        // a pattern that does not occur: no index, no target
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> select(TargetMatcher.builder()
                .setTargetModules(TargetModules.of("value")).optLayersToTransform(List.of(1))
                .optLayersPattern(List.of("layers"))));
        assertTrue(e.getMessage().contains("(layers_to_transform [1]) matched no module"), e.getMessage());
    }

    @Test
    void invalidCombinationsNameTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TargetMatcher.builder()
                .setTargetModules(TargetModules.of("query")).optLayersPattern(List.of("layer")).build());
        assertEquals("layers_pattern [layer] is given without layers_to_transform", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TargetMatcher.builder()
                .setTargetModules(TargetModules.parse(".*query")).optLayersToTransform(List.of(0)).build());
        assertEquals("layers_to_transform cannot be used when target_modules is a regular expression ('.*query')",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TargetMatcher.builder()
                .setTargetModules(TargetModules.of("query")).optExcludeModules(TargetModules.allLinear()).build());
        assertEquals("exclude_modules cannot be \"all-linear\"", e.getMessage());
    }

    @Test
    void noMatchListsTargetsAndSampleOfLinearPaths() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> select(TargetMatcher.builder().setTargetModules(TargetModules.of("q_proj", "v_proj"))));
        assertEquals("target_modules [q_proj, v_proj] matched no module of Net; it has 13 linear modules, e.g."
                + " encoder.layer.0.attention.query, encoder.layer.0.attention.key, encoder.layer.0.attention.value,"
                + " encoder.layer.0.output.dense, encoder.layer.1.attention.query, encoder.layer.1.attention.key,"
                + " encoder.layer.1.attention.value, encoder.layer.1.output.dense, encoder.layer.2.attention.query,"
                + " encoder.layer.2.attention.key, ...", e.getMessage());
    }

    @Test
    void nonLinearMatchIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> select(TargetMatcher.builder().setTargetModules(TargetModules.of("query", "norm"))));
        assertEquals("target_modules [query, norm] matched modules that are not linear layers:"
                + " encoder.layer.0.norm (LayerNorm), encoder.layer.1.norm (LayerNorm), encoder.layer.2.norm (LayerNorm);"
                + " only linear layers can be adapted", e.getMessage());
    }

    /** A wrapper layer for injection tests. */
    static final class Wrapped extends Module implements LinearLike, AdapterLayer {
        final LinearLike inner;

        Wrapped(LinearLike inner) {
            this.inner = inner;
            registerModule("base_layer", (Module) inner);
        }

        @Override public long inFeatures() { return inner.inFeatures(); }
        @Override public long outFeatures() { return inner.outFeatures(); }
        @Override public ai.djl.ndarray.NDArray forward(ParameterStore ps, ai.djl.ndarray.NDArray x, boolean t) {
            return inner.forward(ps, x, t);
        }
        @Override public ai.djl.ndarray.NDArray denseWeight(NDManager m) { return inner.denseWeight(m); }
        @Override public ai.djl.nn.Parameter biasParameter() { return inner.biasParameter(); }
        @Override protected NDList forwardInternal(ParameterStore ps, NDList in, boolean t, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void injectorChecksEverythingBeforeReplacing() {
        Net net = new Net();
        TargetMatcher m = TargetMatcher.builder().setTargetModules(TargetModules.of("query")).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdapterInjector.inject(net, m,
                new AdapterInjector.Factory() {
                    @Override public void check(String path, LinearLike t) {
                        if (path.contains(".2.")) {
                            throw new IllegalArgumentException("no: " + path);
                        }
                    }
                    @Override public Module create(String path, LinearLike t) { return new Wrapped(t); }
                }));
        assertEquals("no: encoder.layer.2.attention.query", e.getMessage());
        assertTrue(net.namedModules().values().stream().noneMatch(x -> x instanceof Wrapped), "nothing replaced");

        List<String> done = AdapterInjector.inject(net, m, new AdapterInjector.Factory() {
            @Override public void check(String path, LinearLike t) {}
            @Override public Module create(String path, LinearLike t) { return new Wrapped(t); }
        });
        assertEquals(3, done.size());
        assertTrue(net.getModule("encoder.layer.1.attention.query") instanceof Wrapped);
        // adapter layers are not looked into: all-linear does not see query.base_layer
        List<String> again = TargetMatcher.builder().setTargetModules(TargetModules.allLinear()).build().select(net);
        assertTrue(again.contains("encoder.layer.1.attention.query"));
        assertFalse(again.stream().anyMatch(p -> p.contains("base_layer")));
    }

    @Test
    void trainableReportHasPeftFormat() {
        assertEquals("trainable params: 147,456 || all params: 22,860,672 || trainable%: 0.6450",
                new TrainableParameters(147_456, 22_860_672).toString());
        assertEquals("trainable params: 0 || all params: 0 || trainable%: 0.0000",
                new TrainableParameters(0, 0).toString());
        Net net = new Net();
        net.freeze(p -> !p.startsWith("lm_head"));
        // 3 * 4 * (16 + 4) + 3 * 8 norm + 24 head
        assertEquals(new TrainableParameters(24, 3 * 4 * 20 + 3 * 8 + 24), TrainableParameters.of(net));
    }

    @Test
    void copiesAreIndependentAndTrainable() {
        try (NDManager mgr = NDManager.newBaseManager()) {
            Linear l = new Linear(3, 2, true);
            l.initialize(mgr, DataType.FLOAT32);
            l.freeze(p -> true);
            Linear c = (Linear) ModuleCopies.copy(l, mgr);
            assertTrue(c.parameter("weight").getArray().contentEquals(l.parameter("weight").getArray()));
            assertTrue(c.parameter("weight").requiresGradient());
            float before = l.parameter("weight").getArray().toFloatArray()[0];
            c.parameter("weight").getArray().muli(0);
            assertEquals(0f, Math.abs(c.parameter("weight").getArray().toFloatArray()[0]));
            assertEquals(before, l.parameter("weight").getArray().toFloatArray()[0]);
            assertTrue(before != 0f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ModuleCopies.copy(new LayerNorm(2, 1e-5f), mgr));
            assertTrue(e.getMessage().startsWith("cannot copy dev.peft4j.core.nn.LayerNorm for modules_to_save"), e.getMessage());
        }
    }
}
