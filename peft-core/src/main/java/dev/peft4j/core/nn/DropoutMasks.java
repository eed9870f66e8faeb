package dev.peft4j.core.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Where dropout's random masks come from: the hook a trainer uses to make dropout reproducible.
 *
 * <p>Models call {@link #dropout(NDArray, float, boolean, DropoutMasks)}, which does nothing
 * outside training or at rate 0 and otherwise delegates to {@link #apply}. Two sources exist:
 *
 * <ul>
 *   <li>{@link #engine()} (the default): {@link Dropout#apply}, i.e. a seed per call and a mask
 *       drawn from it on the host in parallel (float32 on CPU; {@code torch.dropout} otherwise);
 *       fast. The seed comes from the calling thread's {@link DropoutStream} while a trainer keys
 *       it ({@code StepRandom.seedEngine}), else from the engine's generator, reproducible through
 *       the engine-global seed ({@code Engine.getInstance().setRandomSeed}).
 *   <li>{@link #seeded(long)}: masks drawn on the host from a {@link java.util.SplittableRandom}
 *       with the given seed, copied to the array's device. Slower, but the same seed and the same
 *       sequence of calls give the same masks on any device and independently of other users of
 *       the engine's generator.
 * </ul>
 *
 * <p>Both apply inverted dropout: kept elements are scaled by {@code 1 / (1 - rate)}, so nothing
 * changes at inference. The result is differentiable with respect to the input.
 *
 * <p><b>Per-layer streams.</b> In a training pass the layer stacks draw one seed per pass ({@link
 * #passSeed}) and start every layer with {@link #forLayer}{@code (seed of the layer)}, which
 * seeds the engine's generator (used by LoRA's and the adapters' dropout too) and gives the
 * layer's own mask source. A layer's masks then depend only on the pass seed and the layer index,
 * so gradient checkpointing can recompute a layer with the masks it drew the first time.
 *
 * <p><b>Threads.</b> {@link #engine()} is stateless and may be shared by models trained on
 * several threads at once: with each thread's {@link DropoutStream} keyed (the trainers do), a
 * thread's masks depend only on its own seeds and calls. The engine's generator is one per
 * process: dropouts that run {@code torch.dropout} (arrays that are not float32 or not on the
 * CPU) and code that draws from the generator while no stream is keyed are reproducible only
 * when a single thread uses it. A {@link #seeded} source is safe to call from several threads
 * but its masks then depend on the order of the calls: give each thread its own.
 */
public interface DropoutMasks {

    /**
     * Applies inverted dropout to {@code x} (a training pass).
     *
     * @param x the input; the result is created in its manager
     * @param rate the probability of dropping an element, in {@code (0, 1)}
     * @return {@code x} with dropped elements zeroed and the rest scaled by {@code 1 / (1 - rate)}
     */
    NDArray apply(NDArray x, float rate);

    /**
     * Draws the seed of one training pass's per-layer streams from this source, advancing it (the
     * engine source draws from the calling thread's {@link DropoutStream} when a trainer keyed it,
     * else from the engine's generator; the seeded source from its own). The engine source's
     * {@link Dropout#apply} draws each call's mask seed here too.
     *
     * @param manager a manager for the one scratch array the engine source draws
     * @return the pass seed
     */
    default long passSeed(NDManager manager) {
        try (NDManager scratch = manager.newSubManager()) {
            float[] u = scratch.randomUniform(0f, 1f, new Shape(3)).toFloatArray();
            long bits = 0;
            for (float f : u) {
                bits = (bits << 21) ^ (long) (f * (1 << 21));
            }
            return bits;
        }
    }

    /**
     * Starts a layer of a training pass: seeds the engine's generator with {@code layerSeed}, and
     * the calling thread's {@link DropoutStream} when a trainer keyed it (so dropouts drawing from
     * them repeat when the layer is recomputed), and returns the mask source the layer's own
     * dropouts use.
     *
     * @param layerSeed the layer's seed, derived from the pass seed and the layer index
     * @return the source for this layer: this one for the engine source, a fresh {@link
     *     #seeded} source for the seeded one
     */
    default DropoutMasks forLayer(long layerSeed) {
        Engine.getInstance().setRandomSeed((int) (layerSeed ^ (layerSeed >>> 32)));
        DropoutStream.reseedIfSeeded(layerSeed);
        return this;
    }

    /** @return masks from the engine's random generator ({@link Dropout#apply}) */
    static DropoutMasks engine() {
        return EngineDropout.INSTANCE;
    }

    /**
     * @param seed the seed of the host-side generator
     * @return a new, stateful mask source whose masks depend only on the seed and the call order
     */
    static DropoutMasks seeded(long seed) {
        return new SeededDropout(seed);
    }

    /**
     * Dropout as models call it: the identity unless training with a positive rate.
     *
     * @param x the input
     * @param rate the drop probability, in {@code [0, 1)}
     * @param training whether this is a training pass
     * @param masks the mask source
     * @return {@code x} itself when not training or when the rate is 0, else {@code masks.apply}
     */
    static NDArray dropout(NDArray x, float rate, boolean training, DropoutMasks masks) {
        if (!(rate >= 0f && rate < 1f)) {
            throw new IllegalArgumentException("dropout rate must be in [0, 1), got " + rate);
        }
        if (!training || rate == 0f) {
            return x;
        }
        return masks.apply(x, rate);
    }
}
