package dev.peft4j.core.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TrainingCurveTest {

    @Test
    void movingAverageIsTrailingMeanOverTheWindow() {
        assertArrayEquals(new double[] {1, 1.5, 2}, TrainingCurve.movingAverage(new double[] {1, 2, 3}), 1e-12);
        double[] v = new double[TrainingCurve.SMOOTHING + 2];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        double[] avg = TrainingCurve.movingAverage(v);
        int n = TrainingCurve.SMOOTHING;
        assertEquals((n - 1) / 2.0, avg[n - 1], 1e-12, "full window: mean of 0..n-1");
        assertEquals((n + 3) / 2.0, avg[n + 1], 1e-12, "window slides: mean of 2..n+1");
    }
}
