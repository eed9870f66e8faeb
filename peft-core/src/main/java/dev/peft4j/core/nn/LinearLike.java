package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

/**
 * What adapters need from a linear layer, whatever stores its weight: {@code y = x·Wᵀ + b} with
 * {@code W} of shape {@code [outFeatures, inFeatures]}. Implemented by the full-precision {@link
 * Linear} and by 4-bit layers, so a LoRA layer can sit over either without knowing which.
 */
public interface LinearLike {

    /** @return the input width */
    long inFeatures();

    /** @return the output width */
    long outFeatures();

    /**
     * Applies the layer to the last dimension of {@code x}.
     *
     * @param ps the parameter store (device placement, training copies)
     * @param x input {@code [..., inFeatures]}
     * @param training whether this is a training pass
     * @return output {@code [..., outFeatures]}
     */
    NDArray forward(ParameterStore ps, NDArray x, boolean training);

    /**
     * The effective weight as a dense array {@code [outFeatures, inFeatures]} in float32, newly
     * created in {@code manager} (dequantized for packed weights). Used for merging and for
     * SVD-based adapter initialization.
     *
     * @param manager owner of the returned array
     * @return a new dense copy of the weight
     */
    NDArray denseWeight(NDManager manager);

    /** @return the bias parameter, or {@code null} when the layer has none */
    Parameter biasParameter();
}
