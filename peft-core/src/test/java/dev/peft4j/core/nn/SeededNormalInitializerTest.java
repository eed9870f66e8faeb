package dev.peft4j.core.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

/** {@link SeededNormalInitializer}: the same values whatever the engine's generator holds. */
class SeededNormalInitializerTest {

    @Test
    void sameSeedAndNameGiveTheSameValuesWhateverTheEngineSeed() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(1);
            float[] a = SeededNormalInitializer.forParameter(0.02, 42, "classifier.weight")
                    .initialize(m, new Shape(2, 384), DataType.FLOAT32).toFloatArray();
            Engine.getInstance().setRandomSeed(2);
            float[] b = SeededNormalInitializer.forParameter(0.02, 42, "classifier.weight")
                    .initialize(m, new Shape(2, 384), DataType.FLOAT32).toFloatArray();
            assertArrayEquals(a, b);
            float[] other = SeededNormalInitializer.forParameter(0.02, 42, "bert.pooler.dense.weight")
                    .initialize(m, new Shape(2, 384), DataType.FLOAT32).toFloatArray();
            float[] seed7 = SeededNormalInitializer.forParameter(0.02, 7, "classifier.weight")
                    .initialize(m, new Shape(2, 384), DataType.FLOAT32).toFloatArray();
            assertFalse(Arrays.equals(a, other));
            assertFalse(Arrays.equals(a, seed7));
        }
    }

    @Test
    void normalWithTheGivenStd() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = new SeededNormalInitializer(0.02, 3).initialize(m, new Shape(100, 100), DataType.FLOAT32);
            assertEquals(new Shape(100, 100), x.getShape());
            double sum = 0;
            double sq = 0;
            for (float v : x.toFloatArray()) {
                sum += v;
                sq += (double) v * v;
            }
            double mean = sum / 10_000;
            // 10,000 draws: the mean's standard error is 2e-4, the std's about 1.4e-4
            assertEquals(0, mean, 1e-3);
            assertEquals(0.02, Math.sqrt(sq / 10_000 - mean * mean), 6e-4);
            NDArray f64 = new SeededNormalInitializer(0.02, 3).initialize(m, new Shape(4), DataType.FLOAT64);
            assertEquals(DataType.FLOAT64, f64.getDataType());
            assertEquals(x.toFloatArray()[0], (float) f64.toDoubleArray()[0]);
            assertEquals("std must be non-negative, got -1.0",
                    assertThrows(IllegalArgumentException.class, () -> new SeededNormalInitializer(-1, 0))
                            .getMessage());
        }
    }
}
