package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Gradient housekeeping on the PyTorch engine, whose gradients accumulate across backward passes
 * until zeroed (DJL's collector no longer zeroes them).
 */
final class Gradients {

    private Gradients() {}

    /**
     * Sets a parameter's gradient to zero in place (NaN-safe: a fill, not a subtraction); no-op
     * when it has none yet.
     *
     * @param param a parameter array that requires a gradient
     */
    static void zero(NDArray param) {
        if (!(param instanceof PtNDArray pt)) {
            throw new IllegalStateException("peft4j trains on the PyTorch engine only, got "
                    + param.getManager().getEngine().getEngineName());
        }
        JniUtils.zeroGrad(pt);
    }
}
