package dev.peft4j.core.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.Test;

/** Cross-entropy values against hand computations; masking; stability; gradient. */
class LossesTest {

    @Test
    void classificationCrossEntropy() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = m.create(new float[] {1, 2, 3, 1, 1, 1}, new Shape(2, 3));
            NDArray labels = m.create(new long[] {2, 0});
            // (3 - ln(e + e^2 + e^3)) and -ln 3, averaged
            assertEquals(0.75310912, Losses.crossEntropy(logits, labels).getFloat(), 1e-6);
            NDArray huge = m.create(new float[] {1000, 0}, new Shape(1, 2));
            assertEquals(1000.0, Losses.crossEntropy(huge, m.create(new long[] {1})).getFloat(), 1e-3);
            assertEquals("crossEntropy needs logits [B, C] and labels [B], got (2, 3) and (3)",
                    assertThrows(IllegalArgumentException.class,
                            () -> Losses.crossEntropy(logits, m.create(new long[] {0, 1, 2}))).getMessage());
        }
    }

    @Test
    void crossEntropyGradientIsSoftmaxMinusOneHotOverBatch() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = m.create(new float[] {0, 0, 1, 1, 1, 1}, new Shape(2, 3));
            logits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(Losses.crossEntropy(logits, m.create(new long[] {2, 0})));
            }
            float[] g = logits.getGradient().toFloatArray();
            double e = Math.E;
            double p = 1 / (2 + e);
            assertEquals(p / 2, g[0], 1e-6);
            assertEquals((e * p - 1) / 2, g[2], 1e-6);
            assertEquals((1.0 / 3 - 1) / 2, g[3], 1e-6);
            assertEquals(1.0 / 6, g[4], 1e-6);
        }
    }

    @Test
    void causalLmShiftsAndMasks() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = m.create(new float[] {0, 0, 2, 0, 9, 9}, new Shape(1, 3, 2));
            // position 0 predicts label[1] = 1: ln 2; position 1 predicts label[2] = 0: ln(e^2 + 1) - 2
            NDArray labels = m.create(new long[] {-100, 1, 0}, new Shape(1, 3));
            assertEquals((0.69314718 + 0.12692801) / 2, Losses.causalLm(logits, labels).getFloat(), 1e-6);
            NDArray masked = m.create(new long[] {5, 1, -100}, new Shape(1, 3));
            assertEquals(0.69314718, Losses.causalLm(logits, masked).getFloat(), 1e-6);
        }
    }

    @Test
    void causalLmMeanIsOverTokensOfTheWholeBatch() {
        try (NDManager m = NDManager.newBaseManager()) {
            // row 0: two targets at ln 2 each; row 1 (padded): one target with loss ln(1 + e^-4)
            NDArray logits = m.create(new float[] {0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 7, 7}, new Shape(2, 3, 2));
            NDArray labels = m.create(new long[] {-100, 0, 1, -100, 0, -100}, new Shape(2, 3));
            double expected = (2 * Math.log(2) + Math.log(1 + Math.exp(-4))) / 3;
            assertEquals(expected, Losses.causalLm(logits, labels).getFloat(), 1e-6);
            NDArray half = logits.toType(DataType.FLOAT16, false);
            assertEquals(DataType.FLOAT32, Losses.causalLm(half, labels).getDataType());
            assertEquals("causalLm needs at least 2 positions, got (2, 1, 2)", assertThrows(
                    IllegalArgumentException.class,
                    () -> Losses.causalLm(m.zeros(new Shape(2, 1, 2)), m.zeros(new Shape(2, 1)))).getMessage());
        }
    }

    /** Logits over n virtual tokens + T real ones: PEFT pads the labels with n ignored positions in front. */
    @Test
    void causalLmLabelsArePaddedForVirtualTokens() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = m.create(new float[] {9, 9, 9, 5, 0, 0, 0, 0, 0, 0, 0, 5, 9, 9, 9}, new Shape(1, 5, 3));
            NDArray labels = m.create(new long[] {0, 1, 2}).reshape(1, 3);
            NDArray padded = CausalLmTask.labelsFor(logits, labels);
            assertArrayEquals(new long[] {-100, -100, 0, 1, 2}, padded.toLongArray());
            // position 1 (the last virtual token) predicts label 0, positions 2 and 3 predict 1 and 2
            double want = (2 * Math.log(1 + 2 * Math.exp(-5)) + Math.log(3)) / 3;
            assertEquals(want, Losses.causalLm(logits, padded).getFloat(), 1e-6);
            NDArray same = m.create(new long[] {0, 1, 2, 0, 1}).reshape(1, 5);
            assertSame(same, CausalLmTask.labelsFor(logits, same), "no virtual tokens: the labels as they are");
        }
    }
}
