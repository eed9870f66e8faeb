package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Masked mean pooling over tokens, as sentence-transformers' {@code Pooling(mode="mean")}: the sum
 * of the hidden states of non-padding tokens divided by their number (clamped below at 1e-9).
 */
public final class MeanPooling {

    private MeanPooling() {}

    /**
     * @param hidden hidden states {@code [B, T, H]}
     * @param mask attention mask {@code [B, T]}: 1 for real tokens, 0 for padding (any numeric type)
     * @return {@code [B, H]}, in {@code hidden}'s type and manager
     * @throws IllegalArgumentException when the shapes do not agree
     */
    public static NDArray apply(NDArray hidden, NDArray mask) {
        Shape hs = hidden.getShape();
        Shape ms = mask.getShape();
        if (hs.dimension() != 3 || ms.dimension() != 2 || hs.get(0) != ms.get(0) || hs.get(1) != ms.get(1)) {
            throw new IllegalArgumentException(
                    "mean pooling needs hidden [B, T, H] and mask [B, T], got " + hs + " and " + ms);
        }
        NDArray m = mask.toType(hidden.getDataType(), false).expandDims(-1); // [B, T, 1]
        NDArray sum = hidden.mul(m).sum(new int[] {1}); // [B, H]
        NDArray count = m.sum(new int[] {1}).maximum(1e-9f); // [B, 1]
        return sum.div(count);
    }
}
