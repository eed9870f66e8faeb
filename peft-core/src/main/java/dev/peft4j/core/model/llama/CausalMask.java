package dev.peft4j.core.model.llama;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The attention mask and default position ids of a decoder pass over {@code T} new tokens after
 * {@code past} cached ones, for batches padded on the left or the right.
 *
 * <p>The padding mask follows Hugging Face: {@code attention_mask} is {@code [B, past + T]} with
 * 1 for real tokens and 0 for padding. Masked scores get {@value #MASKED} added (not -inf), so a
 * query that can see no key at all (a left-padding position) gets finite, ignorable output instead
 * of NaN.
 */
public final class CausalMask {

    /** What is added to the score of a key a query must not see. */
    public static final float MASKED = -1e9f;

    private CausalMask() {}

    /**
     * Builds the additive mask. Arrays are created in {@code manager} on {@code device}.
     *
     * @param manager owner of the result and temporaries
     * @param device where the result lives
     * @param past the number of cached positions
     * @param t the number of new positions
     * @param attentionMask {@code [B, past + t]} of 1/0, or {@code null} for no padding
     * @return float32 {@code [B or 1, 1, t, past + t]} of 0 and {@link #MASKED}, or {@code null} when
     *     every query may see every key (a single new token without padding)
     */
    public static NDArray additive(NDManager manager, Device device, long past, long t, NDArray attentionMask) {
        long s = past + t;
        if (attentionMask == null && t == 1) {
            return null;
        }
        NDArray keyIdx = manager.arange(0f, (float) s, 1f, DataType.INT64, device);
        NDArray queryIdx = manager.arange((float) past, (float) s, 1f, DataType.INT64, device).reshape(t, 1);
        NDArray allowed = keyIdx.lte(queryIdx).reshape(1, 1, t, s);
        if (attentionMask != null) {
            checkMask(attentionMask, s);
            long b = attentionMask.getShape().get(0);
            NDArray real = attentionMask.gt(0).reshape(b, 1, 1, s);
            allowed = allowed.logicalAnd(real);
        }
        return allowed.toType(DataType.FLOAT32, false).sub(1f).mul(-MASKED);
    }

    /**
     * Position ids for new tokens when none are given: {@code past .. past+t-1} without padding;
     * with a padding mask, the number of real tokens before each position (so a left-padded
     * sequence gets the same positions as the unpadded one), 1 on padding, as Hugging Face's
     * {@code generate} does.
     *
     * @param manager owner of the result and temporaries
     * @param device where the result lives
     * @param b the batch size
     * @param past the number of cached positions
     * @param t the number of new positions
     * @param attentionMask {@code [B, past + t]} of 1/0, or {@code null}
     * @return int64 {@code [B, t]}
     */
    public static NDArray positionIds(
            NDManager manager, Device device, long b, long past, long t, NDArray attentionMask) {
        if (attentionMask == null) {
            NDArray pos = manager.arange((float) past, (float) (past + t), 1f, DataType.INT64, device);
            return pos.reshape(1, t).repeat(0, b);
        }
        checkMask(attentionMask, past + t);
        NDArray m = attentionMask.toType(DataType.INT64, false);
        NDArray cum = m.cumSum(1).sub(1);
        NDArray pos = cum.mul(m).add(m.neg().add(1)); // padding -> 1
        return pos.get(new NDIndex(":, {}:", past));
    }

    private static void checkMask(NDArray attentionMask, long s) {
        Shape shape = attentionMask.getShape();
        if (shape.dimension() != 2 || shape.get(1) != s) {
            throw new IllegalArgumentException("attention_mask must be [batch, " + s
                    + "] (cached plus new tokens), got " + shape);
        }
    }
}
