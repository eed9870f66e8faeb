package dev.peft4j.core.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.Random;

/** The logistic-regression baseline head on synthetic features. */
class LinearProbeTest {

    @Test
    void separatesThreeClassesAlongDifferentDimensions() {
        // class c has feature c shifted by +3 (plus a constant feature that standardization ignores)
        Random r = new Random(7);
        int n = 300;
        float[][] x = new float[n][4];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 3;
            for (int j = 0; j < 3; j++) {
                x[i][j] = (float) r.nextGaussian() + (j == y[i] ? 3 : 0);
            }
            x[i][3] = 5;
        }
        LinearProbe probe = LinearProbe.fit(x, y, 3, 1e-3, 200);
        int[] predicted = probe.predict(x);
        ClassificationMetrics m = ClassificationMetrics.of(predicted, y, 3);
        assertTrue(m.accuracy() > 0.95, "accuracy " + m.accuracy());
        assertTrue(probe.finalLoss() < 0.2, "loss " + probe.finalLoss());
        assertArrayEquals(new int[] {0, 1, 2}, probe.predict(new float[][] {{4, 0, 0, 5}, {0, 4, 0, 5}, {0, 0, 4, 5}}));
        // deterministic: the same fit twice gives the same loss
        assertEquals(probe.finalLoss(), LinearProbe.fit(x, y, 3, 1e-3, 200).finalLoss());
    }

    @Test
    void l2ShrinksTowardsThePrior() {
        float[][] x = {{-1}, {1}, {-2}, {2}};
        int[] y = {0, 1, 0, 1};
        double free = LinearProbe.fit(x, y, 2, 0, 300).finalLoss();
        double shrunk = LinearProbe.fit(x, y, 2, 10, 300).finalLoss();
        assertTrue(free < 0.05, "unpenalized loss " + free);
        assertTrue(shrunk > 0.5, "penalized objective " + shrunk);
    }

    @Test
    void rejectsBadInput() {
        assertEquals("need as many labels as feature rows, at least one; got 2 rows and 1 labels",
                assertThrows(IllegalArgumentException.class,
                        () -> LinearProbe.fit(new float[2][1], new int[1], 2, 0, 1)).getMessage());
        assertEquals("label 2 of row 0 is outside [0, 2)", assertThrows(IllegalArgumentException.class,
                () -> LinearProbe.fit(new float[][] {{1}}, new int[] {2}, 2, 0, 1)).getMessage());
    }
}
