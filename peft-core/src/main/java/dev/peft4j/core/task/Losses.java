package dev.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.data.CausalLmExample;

/**
 * Cross-entropy losses computed in float32 with a log-softmax (numerically stable for any logit
 * scale), as PyTorch's {@code F.cross_entropy}.
 */
public final class Losses {

    private Losses() {}

    /**
     * Mean cross-entropy of a classifier: {@code -mean_b log softmax(logits[b])[labels[b]]}.
     *
     * @param logits {@code [B, C]}, any float type
     * @param labels {@code [B]} class indices (integer type)
     * @return the scalar loss, float32
     */
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        if (logits.getShape().dimension() != 2 || labels.getShape().dimension() != 1
                || logits.getShape().get(0) != labels.getShape().get(0)) {
            throw new IllegalArgumentException("crossEntropy needs logits [B, C] and labels [B], got "
                    + logits.getShape() + " and " + labels.getShape());
        }
        NDArray lp = f32(logits).logSoftmax(1);
        NDArray picked = lp.gather(labels.toType(DataType.INT64, false).expandDims(1), 1);
        return picked.mean().neg();
    }

    /**
     * Shifted next-token cross-entropy of a causal LM: position {@code t} of the logits predicts
     * {@code labels[t + 1]}; positions whose label is {@link CausalLmExample#IGNORE} (prompt
     * tokens, padding) are left out, and the loss is the mean over the rest (PyTorch's {@code
     * ignore_index=-100}, {@code reduction='mean'}), NaN when nothing is left.
     *
     * @param logits {@code [B, T, V]}, any float type
     * @param labels {@code [B, T]} ids aligned with the inputs, {@code -100} for no loss
     * @return the scalar loss, float32
     */
    public static NDArray causalLm(NDArray logits, NDArray labels) {
        if (logits.getShape().dimension() != 3 || labels.getShape().dimension() != 2
                || logits.getShape().get(0) != labels.getShape().get(0)
                || logits.getShape().get(1) != labels.getShape().get(1)) {
            throw new IllegalArgumentException("causalLm needs logits [B, T, V] and labels [B, T], got "
                    + logits.getShape() + " and " + labels.getShape());
        }
        if (logits.getShape().get(1) < 2) {
            throw new IllegalArgumentException("causalLm needs at least 2 positions, got " + logits.getShape());
        }
        NDArray lp = f32(logits.get(new NDIndex(":, :-1, :"))).logSoftmax(2);
        NDArray target = labels.get(new NDIndex(":, 1:")).toType(DataType.INT64, false);
        NDArray keep = target.neq(CausalLmExample.IGNORE);
        NDArray safe = target.mul(keep.toType(DataType.INT64, false));
        NDArray picked = lp.gather(safe.expandDims(2), 2).squeeze(2);
        NDArray weight = keep.toType(DataType.FLOAT32, false);
        return picked.mul(weight).sum().div(weight.sum()).neg();
    }

    private static NDArray f32(NDArray a) {
        return a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false);
    }
}
