package dev.peft4j.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Params;
import dev.peft4j.quant.BlockwiseDequantizer;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.QuantizedTensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

/** The 4-bit layer computes exactly what a dense layer over its dequantized weight computes. */
class Linear4bitTest {

    static final int IN = 33;
    static final int OUT = 7; // 231 values: odd (padding) and a partial last block

    static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    static QuantizationConfig config(QuantType type, boolean dq) {
        return QuantizationConfig.builder().setQuantType(type).optDoubleQuant(dq).build();
    }

    static Linear4bit layer(NDManager m, QuantizationConfig config, boolean bias) {
        Linear4bit q = new Linear4bit(IN, OUT, bias, config);
        q.setQuantized(config.quantizer("float32").quantize(gaussian(IN * OUT, 1), OUT, IN), m);
        if (bias) {
            Params.assign(q.biasParameter(), m.create(gaussian(OUT, 2)));
        }
        return q;
    }

    /** A dense Linear holding the 4-bit layer's dequantized weight and the same bias. */
    static Linear dense(NDManager m, Linear4bit q) {
        Linear d = new Linear(IN, OUT, q.biasParameter() != null);
        Params.assign(d.parameter("weight"), q.denseWeight(m));
        if (q.biasParameter() != null) {
            Params.assign(d.biasParameter(), q.biasParameter().getArray().duplicate());
        }
        return d;
    }

    @Test
    void forwardAndGradientsEqualDenseLinear() {
        for (QuantType type : QuantType.values()) {
            for (boolean dq : new boolean[] {false, true}) {
                for (boolean bias : new boolean[] {false, true}) {
                    String what = type + " dq=" + dq + " bias=" + bias;
                    try (NDManager m = NDManager.newBaseManager()) {
                        Linear4bit q = layer(m, config(type, dq), bias);
                        Linear d = dense(m, q);
                        ParameterStore ps = new ParameterStore(m, false);
                        NDArray r = m.create(gaussian(2 * 5 * OUT, 4), new Shape(2, 5, OUT));
                        float[][] got = run(m, ps, q, r);
                        float[][] want = run(m, ps, d, r);
                        assertArrayEquals(want[0], got[0], what + " output");
                        assertArrayEquals(want[1], got[1], what + " input gradient");
                        if (bias) {
                            assertArrayEquals(want[2], got[2], what + " bias gradient");
                        }
                        NDArray packed = q.parameter("weight").getArray();
                        assertEquals(DataType.UINT8, packed.getDataType());
                        assertEquals(new Shape((IN * OUT + 1) / 2, 1), packed.getShape());
                        assertFalse(q.parameter("weight").requiresGradient(), what);
                        assertFalse(packed.hasGradient(), what);
                    }
                }
            }
        }
    }

    /** Output, input gradient and bias gradient of {@code sum(layer(x) * r)}. */
    private static float[][] run(NDManager m, ParameterStore ps, dev.peft4j.core.nn.LinearLike layer, NDArray r) {
        NDArray x = m.create(gaussian(2 * 5 * IN, 3), new Shape(2, 5, IN));
        x.setRequiresGradient(true);
        float[][] out = new float[3][];
        try (GradientCollector gc = m.getEngine().newGradientCollector()) {
            NDArray y = layer.forward(ps, x, true);
            out[0] = y.toFloatArray();
            gc.backward(y.mul(r).sum());
        }
        out[1] = x.getGradient().toFloatArray();
        if (layer.biasParameter() != null) {
            NDArray b = layer.biasParameter().getArray();
            out[2] = b.getGradient().toFloatArray();
        }
        return out;
    }

    @Test
    void computesInFloat16WhenConfigured() {
        try (NDManager m = NDManager.newBaseManager()) {
            QuantizationConfig cfg =
                    QuantizationConfig.builder()
                            .setQuantType(QuantType.NF4)
                            .optComputeDtype(DataType.FLOAT16)
                            .build();
            Linear4bit q = layer(m, cfg, true);
            NDArray x = m.create(gaussian(3 * IN, 3), new Shape(3, IN));
            NDArray y = q.forward(new ParameterStore(m, false), x, false);
            assertEquals(DataType.FLOAT32, y.getDataType(), "cast back to the input's dtype");
            NDArray want =
                    ai.djl.nn.core.Linear.linear(
                                    x.toType(DataType.FLOAT16, false),
                                    q.denseWeight(m).toType(DataType.FLOAT16, false),
                                    q.biasParameter().getArray().toType(DataType.FLOAT16, false))
                            .singletonOrThrow()
                            .toType(DataType.FLOAT32, false);
            assertArrayEquals(want.toFloatArray(), y.toFloatArray());
        }
    }

    @Test
    void denseWeightIsTheCodecsDequantization() {
        try (NDManager m = NDManager.newBaseManager()) {
            for (boolean dq : new boolean[] {false, true}) {
                Linear4bit q = layer(m, config(QuantType.NF4, dq), false);
                NDArray w = q.denseWeight(m);
                assertEquals(DataType.FLOAT32, w.getDataType());
                assertEquals(new Shape(OUT, IN), w.getShape());
                assertArrayEquals(
                        BlockwiseDequantizer.dequantize(q.quantizedTensor()), w.toFloatArray());
                NDArray scales = q.absmaxArray(m);
                assertEquals(DataType.FLOAT32, scales.getDataType());
                assertArrayEquals(q.quantState().blockAbsmax(), scales.toFloatArray());
                // 4 blocks: float32 scales, or (double quant) 4 byte codes, 1 nested absmax, 256-entry table
                assertEquals((IN * OUT + 1) / 2 + (dq ? 4 + 4 + 4 * 256 : 4L * 4), q.deviceBytes());
            }
        }
    }

    @Test
    void parameterCountsAreLogical() {
        try (NDManager m = NDManager.newBaseManager()) {
            Linear4bit q = layer(m, config(QuantType.NF4, true), true);
            assertEquals(IN * OUT + OUT, q.parameterCount());
            assertEquals(OUT, q.trainableParameterCount(), "only the bias trains");
            q.freeze(p -> true);
            assertEquals(0, q.trainableParameterCount());
            Linear4bit shell = new Linear4bit(4096, 4096, false, config(QuantType.NF4, true));
            assertEquals(4096L * 4096, shell.parameterCount());
            assertEquals(new Shape(4096L * 4096 / 2, 1), shell.expectedShape("weight"));
        }
    }

    @Test
    void requantizeReplacesTheWeight() {
        try (NDManager m = NDManager.newBaseManager()) {
            QuantizationConfig cfg = config(QuantType.FP4, true);
            Linear4bit q = layer(m, cfg, false);
            NDArray before = q.parameter("weight").getArray();
            float[] merged = gaussian(IN * OUT, 9);
            q.replaceWeight(m.create(merged, new Shape(OUT, IN)));
            QuantizedTensor want = cfg.quantizer("float32").quantize(merged, OUT, IN);
            assertEquals(want, q.quantizedTensor());
            assertArrayEquals(BlockwiseDequantizer.dequantize(want), q.denseWeight(m).toFloatArray());
            assertEquals(before, q.parameter("weight").getArray(), "updated in place");
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> q.requantize(m.zeros(new Shape(IN, OUT))));
            assertEquals(
                    "Linear4bit.requantize: weight must have shape [7, 33], got (33, 7)",
                    e.getMessage());
        }
    }

    @Test
    void shellErrors() {
        try (NDManager m = NDManager.newBaseManager()) {
            Linear4bit q = new Linear4bit(IN, OUT, true, config(QuantType.NF4, true));
            IllegalStateException e =
                    assertThrows(
                            IllegalStateException.class,
                            () -> q.forward(new ParameterStore(m, false), m.zeros(new Shape(1, IN)), false));
            assertEquals(
                    "Linear4bit(in=33, out=7) has no weight yet: load it (QuantizedLoader) or call"
                            + " setQuantized",
                    e.getMessage());
            assertThrows(IllegalStateException.class, () -> q.initialize(m, DataType.FLOAT32));
            QuantizedTensor wrong =
                    config(QuantType.NF4, true).quantizer("float32").quantize(gaussian(IN * OUT, 1), IN, OUT);
            IllegalArgumentException e2 =
                    assertThrows(IllegalArgumentException.class, () -> q.setQuantized(wrong, m));
            assertEquals(
                    "Linear4bit(in=33, out=7) needs a weight of shape [7, 33], got [33, 7]",
                    e2.getMessage());
            assertNotEquals(null, q.toString());
        }
    }

    @Test
    void configValidation() {
        assertEquals(
                "QuantizationConfig: quantType is required (setQuantType)",
                assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.builder().build())
                        .getMessage());
        assertEquals(
                "QuantizationConfig: blocksize must be one of 32, 64, 128, 256, 512, 1024, 2048,"
                        + " 4096, got 48",
                assertThrows(
                                IllegalArgumentException.class,
                                () -> QuantizationConfig.builder()
                                        .setQuantType(QuantType.NF4)
                                        .optBlocksize(48)
                                        .build())
                        .getMessage());
        assertEquals(
                "QuantizationConfig: computeDtype must be FLOAT32 or FLOAT16, got int32",
                assertThrows(
                                IllegalArgumentException.class,
                                () -> QuantizationConfig.builder()
                                        .setQuantType(QuantType.NF4)
                                        .optComputeDtype(DataType.INT32)
                                        .build())
                        .getMessage());
        QuantizationConfig c = config(QuantType.NF4, true);
        assertEquals(DataType.FLOAT32, c.computeDtypeFor(ai.djl.Device.cpu()));
        assertEquals(DataType.FLOAT16, c.computeDtypeFor(ai.djl.Device.gpu()));
        assertEquals(true, c.isSkipped("lm_head"));
        assertEquals(true, c.isSkipped("model.lm_head"));
        assertEquals(true, c.isSkipped("bert.embeddings.word_embeddings"));
        assertEquals(true, c.isSkipped("classifier.dense"));
        assertEquals(false, c.isSkipped("model.layers.0.self_attn.q_proj"));
        QuantizationConfig c2 =
                QuantizationConfig.builder()
                        .setQuantType(QuantType.NF4)
                        .optSkipModules(java.util.List.of("mlp.down_proj", "proj"))
                        .build();
        assertEquals(true, c2.isSkipped("model.layers.3.mlp.down_proj"));
        assertEquals(false, c2.isSkipped("model.layers.3.mlp.up_proj"));
        assertEquals(false, c2.isSkipped("model.layers.3.self_attn.o_proj"));
    }
}
