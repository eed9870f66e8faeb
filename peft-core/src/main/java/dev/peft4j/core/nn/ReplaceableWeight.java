package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;

/**
 * A linear layer whose weight can be overwritten by a dense one: what merging an adapter into the
 * base weight needs ({@code W ← W + ΔW}). A full-precision layer copies the values; a 4-bit layer
 * re-quantizes them, so its merged weight differs from the dense sum by the 4-bit rounding.
 */
public interface ReplaceableWeight {

    /**
     * Replaces the layer's weight with {@code dense}, which is left open and unchanged.
     *
     * @param dense the new weight {@code [outFeatures, inFeatures]}, any floating type
     * @throws IllegalArgumentException when the shape differs from the layer's
     */
    void replaceWeight(NDArray dense);
}
