package dev.peft4j.core.model.hooks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Batch bookkeeping around virtual tokens, as PEFT does it for prompt learning: the attention mask
 * and labels of an {@link InputPrefix} run, and dropping the virtual positions from outputs.
 */
public final class VirtualTokens {

    /** The label of a position that takes no loss. */
    public static final long IGNORE_INDEX = -100;

    private VirtualTokens() {}

    /**
     * PEFT's {@code cat([ones(B, n), attention_mask], dim=1)}.
     *
     * @param attentionMask {@code [B, T]}, or {@code null}
     * @param n the number of virtual tokens
     * @return {@code [B, n + T]} of the mask's type, or {@code null} for {@code null}
     */
    public static NDArray extendMask(NDArray attentionMask, long n) {
        if (attentionMask == null || n == 0) {
            return attentionMask;
        }
        long b = attentionMask.getShape().get(0);
        NDArray ones = attentionMask.getManager().ones(new Shape(b, n), attentionMask.getDataType(),
                attentionMask.getDevice());
        return ones.concat(attentionMask, 1);
    }

    /**
     * PEFT's causal-LM labels for prompt tuning: {@code cat([full((B, n), -100), labels], dim=1)}, so
     * that no loss is taken on (or predicting into) the virtual positions.
     *
     * @param labels int64 {@code [B, T]}
     * @param n the number of virtual tokens
     * @return int64 {@code [B, n + T]}
     */
    public static NDArray padLabels(NDArray labels, long n) {
        long b = labels.getShape().get(0);
        NDArray ignore = labels.getManager().full(new Shape(b, n), (int) IGNORE_INDEX, DataType.INT64,
                labels.getDevice());
        return ignore.concat(labels.toType(DataType.INT64, false), 1);
    }

    /**
     * @param x an output over {@code n + T} positions, {@code [B, n + T, ...]}
     * @param n the number of virtual tokens
     * @return the real positions {@code [B, T, ...]}
     */
    public static NDArray dropVirtual(NDArray x, long n) {
        return n == 0 ? x : x.get(new NDIndex(":, {}:", n));
    }
}
