package dev.peft4j.spark;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Records and back-propagates on this thread only. DJL's {@code PtGradientCollector} allows one
 * collector per JVM (a static flag), but in {@code local[N]} mode, and with several task slots per
 * executor, the ranks of a barrier stage are threads of one JVM that must run backward passes at
 * the same time; libtorch's grad mode is thread-local, so each rank switches it for its own
 * thread, as the collector does, without the JVM-wide flag.
 */
final class ThreadBackward implements AutoCloseable {

    ThreadBackward() {
        JniUtils.setGradMode(true);
    }

    /**
     * Turns gradient recording off on this thread. libtorch starts every new thread recording;
     * DJL turns it off only on the thread that loads the engine, so a Spark task thread must do
     * it before in-place parameter updates or inference.
     */
    static void noGradOnThisThread() {
        Engine.getEngine("PyTorch"); // loads the natives when this is the JVM's first use of the engine
        JniUtils.setGradMode(false);
    }

    /**
     * Accumulates {@code ∂loss/∂θ} into the gradients of the parameters that require one.
     *
     * @param loss a scalar computed on this thread since construction
     */
    void backward(NDArray loss) {
        try (NDArray ones = loss.getManager().ones(loss.getShape(), loss.getDataType())) {
            JniUtils.backward((PtNDArray) loss, (PtNDArray) ones, false, false);
        }
    }

    /** Turns recording off again on this thread. */
    @Override
    public void close() {
        JniUtils.setGradMode(false);
    }
}
