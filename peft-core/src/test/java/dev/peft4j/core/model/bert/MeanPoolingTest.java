package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MeanPoolingTest {

    @Test
    void averagesOnlyRealTokens() {
        try (NDManager m = NDManager.newBaseManager()) {
            // batch 0: tokens (1,2) (3,4) (100,100)pad ; batch 1: (5,-1) (7,7)pad (9,9)pad
            NDArray hidden = m.create(new float[] {1, 2, 3, 4, 100, 100, 5, -1, 7, 7, 9, 9}, new Shape(2, 3, 2));
            NDArray mask = m.create(new long[] {1, 1, 0, 1, 0, 0}, new Shape(2, 3));
            NDArray pooled = MeanPooling.apply(hidden, mask);
            assertEquals(new Shape(2, 2), pooled.getShape());
            // (1+3)/2, (2+4)/2 ; 5/1, -1/1
            assertArrayEquals(new float[] {2, 3, 5, -1}, pooled.toFloatArray());
            // a fully padded row gives zeros, not NaN (count clamped at 1e-9)
            NDArray empty = MeanPooling.apply(hidden, m.zeros(new Shape(2, 3)));
            assertArrayEquals(new float[4], empty.toFloatArray());
        }
    }

    @Test
    void rejectsMismatchedShapes() {
        try (NDManager m = NDManager.newBaseManager()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MeanPooling.apply(m.zeros(new Shape(2, 3, 4)), m.ones(new Shape(2, 4))));
            assertEquals("mean pooling needs hidden [B, T, H] and mask [B, T], got (2, 3, 4) and (2, 4)",
                    e.getMessage());
        }
    }

    @Test
    void poolingModesPickTheirVector() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray hidden = m.create(new float[] {1, 2, 3, 4, 100, 100}, new Shape(1, 3, 2));
            NDArray mask = m.create(new long[] {1, 1, 0}, new Shape(1, 3));
            BertModelOutput out = new BertModelOutput(hidden, m.create(new float[] {-7, 7}, new Shape(1, 2)));
            assertArrayEquals(new float[] {-7, 7}, Pooling.POOLER.pool(out, mask).toFloatArray());
            assertArrayEquals(new float[] {1, 2}, Pooling.CLS.pool(out, mask).toFloatArray());
            assertArrayEquals(new float[] {2, 3}, Pooling.MEAN.pool(out, mask).toFloatArray());
            assertArrayEquals(new float[] {104 / 3f, 106 / 3f}, Pooling.MEAN.pool(out, null).toFloatArray(), 1e-5f);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Pooling.POOLER.pool(new BertModelOutput(hidden, null), mask));
            assertEquals("pooling POOLER needs a model with a pooler; this one has none (use CLS or MEAN)",
                    e.getMessage());
            assertEquals(Pooling.MEAN, Pooling.parse("mean"));
            assertEquals(Pooling.CLS, Pooling.parse("CLS"));
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> Pooling.parse("max"));
            assertEquals("unknown pooling 'max' (use pooler, cls or mean)", e2.getMessage());
        }
    }
}
