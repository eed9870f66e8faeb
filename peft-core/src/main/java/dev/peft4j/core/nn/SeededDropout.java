package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.util.SplittableRandom;

/**
 * Dropout whose masks are drawn on the host from a seeded {@link SplittableRandom}: element {@code
 * i} of a call's mask is kept when the generator's {@code i}-th float of that call is at least
 * {@code rate}.
 */
final class SeededDropout implements DropoutMasks {

    private final long seed;
    private final SplittableRandom random;

    SeededDropout(long seed) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    @Override
    public NDArray apply(NDArray x, float rate) {
        long n = x.size();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("seeded dropout supports at most 2^31-9 elements, got " + n);
        }
        float keep = 1f / (1f - rate);
        float[] mask = new float[(int) n];
        synchronized (this) {
            for (int i = 0; i < mask.length; i++) {
                mask[i] = random.nextFloat() >= rate ? keep : 0f;
            }
        }
        NDArray m = x.getManager().create(mask, x.getShape());
        if (!m.getDevice().equals(x.getDevice())) {
            m = m.toDevice(x.getDevice(), false);
        }
        if (x.getDataType() != DataType.FLOAT32) {
            m = m.toType(x.getDataType(), false);
        }
        return x.mul(m);
    }

    /** @return the next long of this source's generator (the masks of later calls change) */
    @Override
    public synchronized long passSeed(NDManager manager) {
        return random.nextLong();
    }

    /**
     * Seeds the engine's generator (for the dropouts that draw from it) and returns a fresh
     * seeded source for the layer.
     */
    @Override
    public DropoutMasks forLayer(long layerSeed) {
        DropoutMasks.super.forLayer(layerSeed);
        return new SeededDropout(layerSeed);
    }

    @Override
    public String toString() {
        return "DropoutMasks.seeded(" + seed + ")";
    }
}
