package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.Linear4bit;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraLinearTest {

    private static PeftModel wrap(TinyNet net, LoraConfig cfg, NDManager m) {
        return PeftModel.wrap(net, cfg, m, 7L);
    }

    @Test
    void freshAdapterLeavesOutputExactlyUnchanged() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(6, m, 1);
            NDArray x = TinyNet.input(m, 3, 6, 2);
            NDArray before = TinyNet.run(net, x, false);
            PeftModel<?> peft = wrap(net, LoraConfig.builder().setTargetModules("query", "value").optR(2).build(), m);
            assertTrue(before.contentEquals(TinyNet.run(peft, x, false)));
            assertTrue(before.contentEquals(TinyNet.run(peft, x, true)));
            assertEquals("base_model.model.layer.0.attention.query.lora_A.default.weight",
                    peft.namedParameters().keySet().stream().filter(k -> k.contains("lora_A")).findFirst().get());
            assertTrue(peft.namedParameters().containsKey("base_model.model.layer.0.attention.query.base_layer.weight"));
        }
    }

    @Test
    void initStatistics() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(256, m, 1);
            PeftModel<?> p = wrap(net, LoraConfig.builder().setTargetModules("query").optR(16).build(), m);
            LoraLinear l = LoraAdapters.loraLayers(p).get("layer.0.attention.query");
            float[] a = l.loraA("default").parameter("weight").getArray().toFloatArray();
            double bound = 1 / Math.sqrt(256);
            double max = 0;
            double sum = 0;
            for (float v : a) {
                max = Math.max(max, Math.abs(v));
                sum += v;
            }
            assertTrue(max <= bound && max > 0.99 * bound, "kaiming-uniform bound 1/sqrt(in): " + max);
            assertEquals(0, sum / a.length, 0.005);
            float[] b0 = l.loraB("default").parameter("weight").getArray().toFloatArray();
            assertEquals(16 * 256, b0.length);
            for (float v : b0) {
                assertEquals(0f, v);
            }

            TinyNet net2 = TinyNet.create(256, m, 1);
            PeftModel<?> g = wrap(net2, LoraConfig.builder().setTargetModules("query").optR(16)
                    .optInitLoraWeights(LoraInit.GAUSSIAN).build(), m);
            float[] ga = LoraAdapters.loraLayers(g).get("layer.0.attention.query").loraA("default").parameter("weight").getArray().toFloatArray();
            double sq = 0;
            for (float v : ga) {
                sq += v * v;
            }
            assertEquals(1.0 / 16, Math.sqrt(sq / ga.length), 0.002, "gaussian std 1/r");

            TinyNet net3 = TinyNet.create(256, m, 1);
            PeftModel<?> f = wrap(net3, LoraConfig.builder().setTargetModules("query").optR(16)
                    .optInitLoraWeights(LoraInit.RANDOM).build(), m);
            float[] fb = LoraAdapters.loraLayers(f).get("layer.0.attention.query").loraB("default").parameter("weight").getArray().toFloatArray();
            double fmax = 0;
            for (float v : fb) {
                fmax = Math.max(fmax, Math.abs(v));
            }
            assertTrue(fmax > 0.9 * 0.25 && fmax <= 0.25, "init false: B ~ U(-1/sqrt(r), 1/sqrt(r)): " + fmax);

            // same seed and path, same values
            TinyNet net4 = TinyNet.create(256, m, 1);
            PeftModel<?> again = wrap(net4, LoraConfig.builder().setTargetModules("query").optR(16).build(), m);
            assertArrayEquals(a, LoraAdapters.loraLayers(again).get("layer.0.attention.query").loraA("default")
                    .parameter("weight").getArray().toFloatArray());
        }
    }

    /** y = base(x) + s·B·A·x on a hand example, and the scaling variants. */
    @Test
    void forwardAndScalingByHand() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (boolean rslora : new boolean[] {false, true}) {
                Linear base = new Linear(2, 2, true);
                Params.assign(base.parameter("weight"), m.create(new float[] {1, 0, 0, 2}, new Shape(2, 2)));
                Params.assign(base.parameter("bias"), m.create(new float[] {0.5f, -0.5f}));
                LoraLinear l = new LoraLinear("q", base);
                double scaling = rslora ? 4 / Math.sqrt(4) : 4.0 / 4;
                l.addAdapter("default", new LoraLinear.Settings(4, 4, scaling, 0, false));
                l.assign("default", m.create(new float[] {1, 1, 0, 0, 0, 0, 0, 0}, new Shape(4, 2)),
                        m.create(new float[] {1, 0, 0, 0, 0, 0, 0, 0}, new Shape(2, 4)));
                l.setActive("default");
                NDArray y = l.forward(new ParameterStore(m, false), m.create(new float[] {1, 1}, new Shape(1, 2)), false);
                // base: [1.5, 1.5]; B·A·x = [2, 0]
                assertArrayEquals(new float[] {(float) (1.5 + 2 * scaling), 1.5f}, y.toFloatArray(), 1e-6f);
            }
        }
    }

    /** DoRA: W' = W + s·B·A = [[2,1],[0,2]], ‖W'‖ = [√5, 2], m = [1, 1], x = [1, 1]: y = [3/√5 + 0.5, 1 - 0.5]. */
    @Test
    void doraForwardByHandAndMerge() {
        try (NDManager m = NDManager.newBaseManager()) {
            Linear base = new Linear(2, 2, true);
            Params.assign(base.parameter("weight"), m.create(new float[] {1, 0, 0, 2}, new Shape(2, 2)));
            Params.assign(base.parameter("bias"), m.create(new float[] {0.5f, -0.5f}));
            LoraLinear l = new LoraLinear("q", base);
            l.addAdapter("default", new LoraLinear.Settings(1, 1, 1.0, 0, true));
            l.assign("default", m.create(new float[] {1, 1}, new Shape(1, 2)), m.create(new float[] {1, 0}, new Shape(2, 1)));
            LoraInitializer.initMagnitude(l, "default", m);
            assertArrayEquals(new float[] {(float) Math.sqrt(5), 2}, l.magnitude("default").getArray().toFloatArray(), 1e-6f);
            Params.assign(l.magnitude("default"), m.create(new float[] {1, 1}));
            l.setActive("default");
            NDArray x = m.create(new float[] {1, 1}, new Shape(1, 2));
            ParameterStore ps = new ParameterStore(m, false);
            float[] expected = {(float) (3 / Math.sqrt(5) + 0.5), 0.5f};
            assertArrayEquals(expected, l.forward(ps, x, false).toFloatArray(), 1e-6f);
            assertArrayEquals(expected, l.forward(ps, x, true).toFloatArray(), 1e-6f, "no dropout: same in training");
            l.merge(true);
            assertArrayEquals(new float[] {(float) (2 / Math.sqrt(5)), (float) (1 / Math.sqrt(5)), 0, 1},
                    base.parameter("weight").getArray().toFloatArray(), 1e-6f);
            assertArrayEquals(expected, l.forward(ps, x, false).toFloatArray(), 1e-6f);
            l.unmerge();
            assertArrayEquals(new float[] {1, 0, 0, 2}, base.parameter("weight").getArray().toFloatArray(), 1e-6f);
        }
    }

    /** QLoRA: the same layer over a 4-bit base; merging re-quantizes W + s·B·A through ReplaceableWeight. */
    @Test
    void loraOverA4bitBase() {
        try (NDManager m = NDManager.newBaseManager()) {
            QuantizationConfig cfg = QuantizationConfig.builder().setQuantType(QuantType.NF4).optDoubleQuant(true).build();
            Linear4bit q = new Linear4bit(64, 32, true, cfg);
            q.setQuantized(cfg.quantizer("float32").quantize(gaussian(64 * 32, 1), 32, 64), m);
            Params.assign(q.biasParameter(), m.create(gaussian(32, 2)));
            LoraLinear l = new LoraLinear("q", q);
            l.addAdapter("default", new LoraLinear.Settings(4, 8, 2.0, 0, false));
            LoraInitializer.initialize(l, "default", LoraInit.RANDOM, m, new java.util.Random(1));
            l.setActive("default");
            ParameterStore ps = new ParameterStore(m, false);
            NDArray x = m.create(gaussian(3 * 64, 3), new Shape(3, 64));
            NDArray delta = l.deltaWeight("default", m);
            NDArray expected = q.forward(ps, x, false).add(x.matMul(delta.transpose()));
            assertTrue(expected.sub(l.forward(ps, x, false)).abs().max().getFloat() < 1e-5);
            float[] sum = q.denseWeight(m).add(delta).toFloatArray();
            l.merge(true);
            Linear4bit ref = new Linear4bit(64, 32, false, cfg);
            ref.setQuantized(cfg.quantizer("float32").quantize(sum, 32, 64), m);
            assertArrayEquals(ref.denseWeight(m).toFloatArray(), q.denseWeight(m).toFloatArray());
        }
    }

    private static float[] gaussian(int n, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    @Test
    void dropoutOnlyInTraining() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(8, m, 1);
            PeftModel<?> p = wrap(net, LoraConfig.builder().setTargetModules("query").optR(4).optLoraDropout(0.5)
                    .optInitLoraWeights(LoraInit.RANDOM).build(), m);
            NDArray x = TinyNet.input(m, 4, 8, 3);
            NDArray eval1 = TinyNet.run(p, x, false);
            assertTrue(eval1.contentEquals(TinyNet.run(p, x, false)));
            assertFalse(eval1.allClose(TinyNet.run(p, x, true), 1e-4, 1e-4, false), "dropout changes the training output");
        }
    }

    @Test
    void safeMergeRefusesNaNAndNamesTheLayer() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = TinyNet.create(4, m, 1);
            PeftModel<?> p = wrap(net, LoraConfig.builder().setTargetModules("query").optR(2).build(), m);
            float[] w0 = net.getModule("layer.0.attention.query.base_layer").parameter("weight").getArray().toFloatArray();
            Params.assign(LoraAdapters.loraLayers(p).get("layer.1.attention.query").loraB("default").parameter("weight"),
                    m.full(new Shape(4, 2), Float.NaN));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.merge(true));
            assertEquals("merging adapter 'default' into layer.1.attention.query gives NaN or Inf weights;"
                    + " the layer is left unmerged", e.getMessage());
            assertFalse(p.isMerged(), "layer 0 was unmerged again");
            assertArrayEquals(w0, net.getModule("layer.0.attention.query.base_layer").parameter("weight").getArray()
                    .toFloatArray(), 1e-6f);
        }
    }
}
