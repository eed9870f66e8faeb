package dev.peft4j.lora.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * The short soak of the normal suite: 200 LoRA steps on MiniLM, RSS sampled every 25 steps after
 * 50; resident memory must not grow by more than 20 MB per 100 steps (a leak of 0.2 MB a step fails) (the long soak, {@link
 * LoraSoakLongTest}, bounds it at 1 MB over 2,000 steps).
 */
class LoraSoakTest {

    @Test
    void residentMemoryStaysFlatOver200LoraSteps(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(LoraSoak.residentBytes() > 0, "no /proc/self/status");
        String[] r = LoraSoak.runInChild(200, 50, 25, dir);
        System.out.println("LoRA soak (short): " + r[2]);
        assertEquals(7, Integer.parseInt(r[1]));
        assertTrue(Double.parseDouble(r[0]) < 20 * 1024 * 1024, r[2]);
    }
}
