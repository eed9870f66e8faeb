package dev.peft4j.lora.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * The short soak of the normal suite: 200 LoRA steps on MiniLM, RSS sampled every 25 steps after
 * 50; resident memory must not grow by more than 20 MB per 100 steps, so a leak of 0.2 MB a step
 * fails (the long soak, {@link LoraSoakLongTest}, bounds it at 1 MB per 100 steps over 2,000).
 */
class LoraSoakTest {

    /** The estimator ignores a one-off step and measures steady growth exactly. */
    @Test
    void theilSenSlope() {
        long mb = 1024 * 1024;
        java.util.List<long[]> step = new java.util.ArrayList<>();
        java.util.List<long[]> leak = new java.util.ArrayList<>();
        for (int i = 0; i < 11; i++) {
            step.add(new long[] {1000 + 100L * i, (i < 3 ? 1092 : 1106) * mb});
            leak.add(new long[] {1000 + 100L * i, 1000 * mb + 2 * mb * i});
        }
        assertEquals(0.0, LoraSoak.slope(step) * 100);
        assertEquals(2.0 * mb, LoraSoak.slope(leak) * 100, 1e-6);
    }

    @Test
    void residentMemoryStaysFlatOver200LoraSteps(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(LoraSoak.residentBytes() > 0, "no /proc/self/status");
        String[] r = LoraSoak.runInChild(200, 50, 25, dir, false);
        System.out.println("LoRA soak (short): " + r[2]);
        assertEquals(7, Integer.parseInt(r[1]));
        assertTrue(Double.parseDouble(r[0]) < 20 * 1024 * 1024, r[2]);
    }
}
