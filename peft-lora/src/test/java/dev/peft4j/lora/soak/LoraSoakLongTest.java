package dev.peft4j.lora.soak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * The native-memory soak ({@code mvn -Plong verify}): 2,000 LoRA (and QLoRA) training steps on MiniLM, RSS
 * sampled every 100 steps after a 1,000-step warm-up; the Theil–Sen slope must stay under 1 MB
 * per 100 steps (a first run with a 500-step warm-up showed one 15 MB allocator step at step
 * 1,100, then 900 perfectly flat steps).
 */
class LoraSoakLongTest {

    @Test
    void residentMemoryStaysFlatOver2000LoraSteps(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(LoraSoak.residentBytes() > 0, "no /proc/self/status");
        String[] r = LoraSoak.runInChild(2000, 1000, 100, dir, false);
        System.out.println("LoRA soak (long): " + r[2]);
        assertEquals(11, Integer.parseInt(r[1]));
        assertTrue(Double.parseDouble(r[0]) < 1024 * 1024, r[2]);
    }

    @Test
    void residentMemoryStaysFlatOver2000QloraSteps(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(LoraSoak.residentBytes() > 0, "no /proc/self/status");
        String[] r = LoraSoak.runInChild(2000, 1000, 100, dir, true);
        System.out.println("QLoRA soak (long): " + r[2]);
        assertEquals(11, Integer.parseInt(r[1]));
        assertTrue(Double.parseDouble(r[0]) < 1024 * 1024, r[2]);
    }
}
