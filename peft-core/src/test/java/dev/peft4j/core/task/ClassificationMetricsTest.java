package dev.peft4j.core.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import java.util.Map;

/** Accuracy and macro-F1 pinned to values computed by hand (as scikit-learn defines them). */
class ClassificationMetricsTest {

    @Test
    void accuracyAndMacroF1() {
        ClassificationMetrics m = ClassificationMetrics.of(new int[] {0, 0, 1, 1, 2}, new int[] {0, 1, 1, 1, 0}, 4);
        assertEquals(0.6, m.accuracy(), 1e-12);
        // F1: class 0 = 2·1/(2+2), class 1 = 2·2/(2+3), class 2 = 0; class 3 absent, left out
        assertEquals((0.5 + 0.8 + 0.0) / 3, m.macroF1(), 1e-12);
        assertEquals(5, m.count());
        assertEquals(Map.of("accuracy", 0.6, "macro_f1", (0.5 + 0.8) / 3), m.toMap());
    }

    @Test
    void majorityClassPredictor() {
        // always "great" (0) on 658 great / 342 other: accuracy 0.658, F1(great) = 2·658/(1000+658)
        int[] predicted = new int[1000];
        int[] actual = new int[1000];
        for (int i = 658; i < 1000; i++) {
            actual[i] = 1;
        }
        ClassificationMetrics m = ClassificationMetrics.of(predicted, actual, 2);
        assertEquals(0.658, m.accuracy(), 1e-12);
        assertEquals(1316.0 / 1658 / 2, m.macroF1(), 1e-12);
    }

    @Test
    void rejectsBadInput() {
        assertEquals("need equally many predictions and labels, at least one; got 1 and 2",
                assertThrows(IllegalArgumentException.class,
                        () -> ClassificationMetrics.of(new int[1], new int[2], 2)).getMessage());
        assertEquals("class index out of [0, 2) at example 0", assertThrows(IllegalArgumentException.class,
                () -> ClassificationMetrics.of(new int[] {2}, new int[] {0}, 2)).getMessage());
    }
}
