package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;

/** Dropout with the engine's random generator ({@link Dropout#apply}). */
final class EngineDropout implements DropoutMasks {

    static final EngineDropout INSTANCE = new EngineDropout();

    private EngineDropout() {}

    @Override
    public NDArray apply(NDArray x, float rate) {
        return Dropout.apply(x, rate);
    }

    @Override
    public String toString() {
        return "DropoutMasks.engine()";
    }
}
