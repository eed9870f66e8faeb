package dev.peft4j.core.checkpoint;

import ai.djl.ndarray.NDArray;
import dev.peft4j.core.nn.DropoutMasks;

/**
 * Layer {@code i} of a stack as a function of its input, everything else (parameter store,
 * attention mask, rotary tables) captured: called once in the forward pass and once more when
 * the backward pass recomputes it.
 */
@FunctionalInterface
public interface CheckpointedLayer {

    /**
     * Runs layer {@code index} in training mode; temporaries go to {@code x}'s manager.
     *
     * @param index the layer index
     * @param x the layer's input {@code [B, T, H]}
     * @param masks the layer's dropout mask source
     * @return the layer's output {@code [B, T, H]}
     */
    NDArray forward(int index, NDArray x, DropoutMasks masks);
}
