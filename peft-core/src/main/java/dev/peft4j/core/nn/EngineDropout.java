package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Dropout with the engine's random generator ({@link Dropout#apply}), or with the calling thread's
 * {@link DropoutStream} while a trainer keys it.
 */
final class EngineDropout implements DropoutMasks {

    static final EngineDropout INSTANCE = new EngineDropout();

    private EngineDropout() {}

    @Override
    public NDArray apply(NDArray x, float rate) {
        return Dropout.apply(x, rate);
    }

    /**
     * @return the next value of the calling thread's {@link DropoutStream} when it is keyed, else a
     *     draw from the engine's generator
     */
    @Override
    public long passSeed(NDManager manager) {
        return DropoutStream.isSeeded() ? DropoutStream.next() : DropoutMasks.super.passSeed(manager);
    }

    @Override
    public String toString() {
        return "DropoutMasks.engine()";
    }
}
