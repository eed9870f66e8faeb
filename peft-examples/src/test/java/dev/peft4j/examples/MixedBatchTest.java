package dev.peft4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.List;

/** {@link MixedBatch}: six requests over two adapters and the base, each as it would be alone. */
class MixedBatchTest {

    @Test
    void servesEachRowAsAlone() throws Exception {
        List<String> lines = MainRun.lines(MixedBatch::main);
        assertEquals("served 6 requests over [support, legal] and the base in one batch", lines.get(0));
        assertEquals(8, lines.size(), lines.toString());
        assertTrue(lines.get(1).startsWith("support  | My parcel"), lines.get(1));
        assertTrue(lines.get(3).startsWith("__base__ | A cup"), lines.get(3));
        String last = lines.get(7);
        assertTrue(last.startsWith("largest difference to running each request alone: "), last);
        double worst = Double.parseDouble(last.substring(last.lastIndexOf(' ') + 1));
        assertTrue(worst < 2e-5, last);
    }
}
