package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Scalars;

/**
 * Multi-head scaled dot-product self-attention ({@code attention.self}): children {@code query},
 * {@code key}, {@code value}, called through {@link LinearLike} so adapters can replace them.
 * Attention-probability dropout applies in training.
 */
public class BertSelfAttention extends Module {

    private final int heads;
    private final int headDim;
    private final float dropout;

    /** @param config the model's config */
    public BertSelfAttention(BertConfig config) {
        this.heads = config.numAttentionHeads();
        this.headDim = config.headDim();
        this.dropout = (float) config.attentionProbsDropoutProb();
        int h = config.hiddenSize();
        registerModule("query", new Linear(h, h, true));
        registerModule("key", new Linear(h, h, true));
        registerModule("value", new Linear(h, h, true));
    }

    /**
     * @param ps the parameter store
     * @param hidden input {@code [B, T, H]}
     * @param additiveMask added to the attention scores, broadcastable to {@code [B, heads, T, T]}
     *     (0 for keys to attend, a large negative number for padding), or {@code null}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return the per-token context {@code [B, T, H]}, heads concatenated
     */
    public NDArray forward(
            ParameterStore ps, NDArray hidden, NDArray additiveMask, boolean training, DropoutMasks masks) {
        return forward(ps, hidden, additiveMask, null, null, training, masks);
    }

    /**
     * Attention with a key/value prefix (prefix tuning): {@code K = cat([prefixKey, key(x)])},
     * {@code V = cat([prefixValue, value(x)])} along the sequence, as transformers' BERT does with
     * {@code past_key_values}; the mask then spans {@code n + T} keys.
     *
     * @param ps the parameter store
     * @param hidden input {@code [B, T, H]}
     * @param additiveMask broadcastable to {@code [B, heads, T, n + T]}, or {@code null}
     * @param prefixKey {@code [B, heads, n, headDim]}, or {@code null} for none
     * @param prefixValue {@code [B, heads, n, headDim]}, or {@code null} for none
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return the per-token context {@code [B, T, H]}
     */
    public NDArray forward(ParameterStore ps, NDArray hidden, NDArray additiveMask, NDArray prefixKey,
            NDArray prefixValue, boolean training, DropoutMasks masks) {
        long b = hidden.getShape().get(0);
        long t = hidden.getShape().get(1);
        // Scaling q by 1/sqrt(d) before the product touches B·T·H elements instead of B·heads·T·T.
        NDArray q = heads(Scalars.mul(linear("query").forward(ps, hidden, training), 1.0 / Math.sqrt(headDim)), b, t);
        NDArray k = heads(linear("key").forward(ps, hidden, training), b, t);
        NDArray v = heads(linear("value").forward(ps, hidden, training), b, t);
        if (prefixKey != null) {
            k = prefixKey.concat(k, 2);
            v = prefixValue.concat(v, 2);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // [B, heads, T, n + T]
        if (additiveMask != null) {
            scores = scores.addi(additiveMask); // in place: the product's backward does not read its output
        }
        NDArray probs = DropoutMasks.dropout(scores.softmax(-1), dropout, training, masks);
        return probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
    }

    private LinearLike linear(String name) {
        return (LinearLike) child(name);
    }

    /** {@code [B, T, H]} to {@code [B, heads, T, headDim]}. */
    private NDArray heads(NDArray x, long b, long t) {
        return x.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(ps, inputs.get(0), mask, training, DropoutMasks.engine()));
    }
}
