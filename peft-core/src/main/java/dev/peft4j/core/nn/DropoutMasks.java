package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;

/**
 * Where dropout's random masks come from: the hook a trainer uses to make dropout reproducible.
 *
 * <p>Models call {@link #dropout(NDArray, float, boolean, DropoutMasks)}, which does nothing
 * outside training or at rate 0 and otherwise delegates to {@link #apply}. Two sources exist:
 *
 * <ul>
 *   <li>{@link #engine()} (the default): DJL's {@code Dropout.dropout}, i.e. the engine's own
 *       random generator ({@code torch.dropout}); fast, and reproducible only through the
 *       engine-global seed ({@code Engine.getInstance().setRandomSeed}).
 *   <li>{@link #seeded(long)}: masks drawn on the host from a {@link java.util.SplittableRandom}
 *       with the given seed, copied to the array's device. Slower, but the same seed and the same
 *       sequence of calls give the same masks on any device and independently of other users of
 *       the engine's generator.
 * </ul>
 *
 * <p>Both apply inverted dropout: kept elements are scaled by {@code 1 / (1 - rate)}, so nothing
 * changes at inference. The result is differentiable with respect to the input.
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

    /** @return masks from the engine's random generator (DJL's {@code Dropout.dropout}) */
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
