package dev.peft4j.core.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Values of transformers' get_*_schedule_with_warmup lambdas, warmup 2, total 10. */
class LrScheduleTest {

    private static double[] factors(ScheduleType type) {
        LrSchedule s = new LrSchedule(type, 2, 10);
        double[] out = new double[12];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.factor(i);
        }
        return out;
    }

    private static void assertFactors(double[] expected, double[] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-12, "step " + i);
        }
    }

    @Test
    void linearWithWarmup() {
        assertFactors(new double[] {0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0, 0},
                factors(ScheduleType.LINEAR));
    }

    @Test
    void cosineWithWarmup() {
        double c = 0.5 * (1 + Math.cos(Math.PI / 8));
        assertFactors(new double[] {0, 0.5, 1, c, 0.8535533905932737, 0.6913417161825449, 0.5,
                        0.3086582838174551, 0.14644660940672627, 0.03806023374435663, 0, 0.03806023374435663},
                factors(ScheduleType.COSINE));
    }

    @Test
    void constantSchedules() {
        assertFactors(new double[] {1, 1, 1, 1}, factors(ScheduleType.CONSTANT));
        assertFactors(new double[] {0, 0.5, 1, 1, 1}, factors(ScheduleType.CONSTANT_WITH_WARMUP));
    }

    @Test
    void firstUpdateUsesFactorOfZeroStepsTaken() {
        LrSchedule s = new LrSchedule(ScheduleType.LINEAR, 0, 4);
        assertEquals(2e-4, s.learningRate(2e-4, 1), 1e-18);
        assertEquals(0.5e-4, s.learningRate(2e-4, 4), 1e-18);
        assertEquals(0, new LrSchedule(ScheduleType.LINEAR, 2, 4).learningRate(2e-4, 1));
        assertEquals("totalSteps must be positive, got 0", assertThrows(IllegalArgumentException.class,
                () -> new LrSchedule(ScheduleType.LINEAR, 0, 0)).getMessage());
    }
}
