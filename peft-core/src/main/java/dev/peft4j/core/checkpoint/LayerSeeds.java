package dev.peft4j.core.checkpoint;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.nn.DropoutMasks;

/**
 * The random streams of one training pass through a layer stack: {@code layer i} starts with
 * {@link DropoutMasks#forLayer}{@code (mix(passSeed, i))}, so its dropout masks (the engine's
 * generator and the model's own mask source) depend only on the pass seed and {@code i}, and a
 * recomputation of the layer draws them again.
 *
 * @param passSeed drawn once per pass from the model's mask source ({@link DropoutMasks#passSeed})
 */
public record LayerSeeds(long passSeed) {

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    /**
     * Draws a pass seed.
     *
     * @param masks the model's mask source ({@link DropoutMasks#engine()} for models without one)
     * @param manager a manager for the scratch array of the engine's draw
     * @return the seeds of this pass
     */
    public static LayerSeeds draw(DropoutMasks masks, NDManager manager) {
        return new LayerSeeds(masks.passSeed(manager));
    }

    /**
     * Starts layer {@code index}: seeds its streams.
     *
     * @param masks the model's mask source
     * @param index the layer index
     * @return the mask source the layer uses
     */
    public DropoutMasks enter(DropoutMasks masks, int index) {
        return masks.forLayer(layerSeed(index));
    }

    /**
     * @param index the layer index
     * @return SplitMix64 of the pass seed and the index
     */
    public long layerSeed(int index) {
        return mix(mix(passSeed + GOLDEN) ^ mix(index + GOLDEN));
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
