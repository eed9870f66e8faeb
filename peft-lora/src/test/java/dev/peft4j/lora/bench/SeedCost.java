package dev.peft4j.lora.bench;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.checkpoint.LayerSeeds;
import dev.peft4j.core.nn.DropoutMasks;

import java.util.Locale;

/**
 * What per-layer dropout streams add to every training pass, checkpointed or not: one pass seed
 * drawn from the engine and a reseed before each of MiniLM's 6 layers.
 *
 * <pre>
 * java ... dev.peft4j.lora.bench.SeedCost PASSES
 * </pre>
 */
public final class SeedCost {

    private SeedCost() {}

    /** @param args the number of passes per round (3 rounds) */
    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]);
        try (NDManager m = NDManager.newBaseManager()) {
            for (int round = 0; round < 3; round++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    LayerSeeds seeds = LayerSeeds.draw(DropoutMasks.engine(), m);
                    for (int l = 0; l < 6; l++) {
                        seeds.enter(DropoutMasks.engine(), l);
                    }
                }
                System.out.printf(Locale.ROOT, "per training pass %.1f us%n", (System.nanoTime() - t0) / 1e3 / n);
            }
        }
    }
}
