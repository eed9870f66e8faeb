package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.norm.Dropout;

/** Dropout with the engine's random generator. */
final class EngineDropout implements DropoutMasks {

    static final EngineDropout INSTANCE = new EngineDropout();

    private EngineDropout() {}

    @Override
    public NDArray apply(NDArray x, float rate) {
        return Dropout.dropout(x, rate, true).singletonOrThrow();
    }

    @Override
    public String toString() {
        return "DropoutMasks.engine()";
    }
}
