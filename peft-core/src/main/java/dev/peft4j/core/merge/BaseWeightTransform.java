package dev.peft4j.core.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;

import java.io.IOException;

/**
 * What loading did to a base weight before the adapter was trained over it, applied by {@link
 * StreamingMerge} before the merge rule: QLoRA's quantize-then-dequantize (peft-quant's {@code
 * QuantizedRoundTrip}), so that the streamed merge equals the in-memory merge over the dequantized
 * 4-bit base. Tensors it transforms are written in full even when the adapter does not touch them
 * (they differ from the checkpoint's).
 */
public interface BaseWeightTransform {

    /**
     * @param name a base tensor name
     * @return whether this transform changes it
     */
    boolean transforms(String name);

    /**
     * @param name a tensor {@link #transforms} accepts
     * @param base the base checkpoint
     * @param manager owner of the result
     * @return the tensor as the trained model saw it, float32
     * @throws IOException when the tensor cannot be read
     * @throws IllegalArgumentException naming the tensor when it cannot be transformed
     */
    NDArray apply(String name, TensorSource base, NDManager manager) throws IOException;

    /** @return a short description for logs, e.g. {@code nf4, blocksize 64, double quant} */
    String describe();
}
