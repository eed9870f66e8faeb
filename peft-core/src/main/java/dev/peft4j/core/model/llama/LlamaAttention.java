package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Scalars;

/**
 * Multi-head self-attention with grouped-query heads and rotary embeddings, Hugging Face's {@code
 * LlamaAttention}: children {@code q_proj}, {@code k_proj}, {@code v_proj}, {@code o_proj}.
 *
 * <p>Scores are computed as batched matrix products; key/value heads are shared among their group
 * of query heads by folding the group into the query length (no copies of keys and values). The
 * softmax runs in float32 and is cast back to the activations' type.
 */
public class LlamaAttention extends Module {

    private final int layerIndex;
    private final int numHeads;
    private final int numKeyValueHeads;
    private final int headDim;

    /**
     * @param config the model configuration
     * @param layerIndex this layer's index (its slot in the KV cache)
     */
    public LlamaAttention(LlamaConfig config, int layerIndex) {
        this.layerIndex = layerIndex;
        this.numHeads = config.numAttentionHeads();
        this.numKeyValueHeads = config.numKeyValueHeads();
        this.headDim = config.headDim();
        int hidden = config.hiddenSize();
        boolean qkvBias = config.qkvBias();
        registerModule("q_proj", new Linear(hidden, (long) numHeads * headDim, qkvBias));
        registerModule("k_proj", new Linear(hidden, (long) numKeyValueHeads * headDim, qkvBias));
        registerModule("v_proj", new Linear(hidden, (long) numKeyValueHeads * headDim, qkvBias));
        registerModule("o_proj", new Linear((long) numHeads * headDim, hidden, config.outputProjectionBias()));
    }

    /**
     * @param ps the parameter store
     * @param x normalized hidden states {@code [B, T, hidden]}
     * @param ctx rotary tables, mask and cache of this pass
     * @param training whether this is a training pass
     * @return the attention output {@code [B, T, hidden]}
     */
    public NDArray forward(ParameterStore ps, NDArray x, AttentionContext ctx, boolean training) {
        return proj("o_proj").forward(ps, attend(ps, x, ctx, training), training);
    }

    /**
     * The attention's heads concatenated, {@code softmax(QKᵀ/√d + mask)·V} for every head: the
     * input of {@code o_proj}.
     *
     * @param ps the parameter store
     * @param x normalized hidden states {@code [B, T, hidden]}
     * @param ctx rotary tables, mask and cache of this pass
     * @param training whether this is a training pass
     * @return {@code [B, T, heads·headDim]}
     */
    public NDArray attend(ParameterStore ps, NDArray x, AttentionContext ctx, boolean training) {
        Shape s = x.getShape();
        long b = s.get(0);
        long t = s.get(1);
        NDManager work = x.getManager();
        NDArray q = heads(proj("q_proj").forward(ps, x, training), b, t, numHeads);
        NDArray k = heads(proj("k_proj").forward(ps, x, training), b, t, numKeyValueHeads);
        NDArray v = heads(proj("v_proj").forward(ps, x, training), b, t, numKeyValueHeads);
        // 1/sqrt(d) on the rotated queries ([B, heads, T, D]) rather than on the scores ([B, heads, T, len]):
        // one pass over T·D instead of T·len values per head, forward and backward (exact when d is a
        // power of four, e.g. 64; round-off otherwise).
        q = Scalars.mul(RotaryEmbedding.apply(q, ctx.cos(), ctx.sin()), 1.0 / Math.sqrt(headDim));
        k = RotaryEmbedding.apply(k, ctx.cos(), ctx.sin());
        if (ctx.cache() != null) {
            NDList kv = ctx.cache().update(layerIndex, k, v);
            k = kv.get(0);
            v = kv.get(1);
        } else if (ctx.prefix() != null) { // prefix tuning: keys as given, no rotary embedding
            k = ctx.prefix().key(layerIndex).concat(k, 2);
            v = ctx.prefix().value(layerIndex).concat(v, 2);
        }
        long len = k.getShape().get(2);
        long groups = numHeads / numKeyValueHeads;
        // [B, kvH, groups*T, D]: each key/value head serves its group of query heads.
        NDArray qg = q.reshape(b, numKeyValueHeads, groups * t, headDim);
        NDArray kT = k.transpose(0, 1, 3, 2);
        kT.attach(work); // derived from a cache array: keep it out of the cache's manager
        NDArray scores = qg.matMul(kT).reshape(b, numHeads, t, len);
        DataType type = scores.getDataType();
        if (type != DataType.FLOAT32) {
            scores = scores.toType(DataType.FLOAT32, false);
        }
        if (ctx.mask() != null) {
            // in place: the product's backward does not read its output, so no [B, heads, T, len] copy is kept
            scores = scores.addi(ctx.mask());
        }
        NDArray probs = scores.softmax(3);
        if (type != DataType.FLOAT32) {
            probs = probs.toType(type, false);
        }
        return probs.reshape(b, numKeyValueHeads, groups * t, len).matMul(v) // [B,kvH,g*T,D]
                .reshape(b, numHeads, t, headDim)
                .transpose(0, 2, 1, 3)
                .reshape(b, t, (long) numHeads * headDim);
    }

    private LinearLike proj(String name) {
        return (LinearLike) child(name);
    }

    private NDArray heads(NDArray y, long b, long t, int n) {
        return y.reshape(b, t, n, headDim).transpose(0, 2, 1, 3);
    }

    /** @return this layer's index */
    public int layerIndex() {
        return layerIndex;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException(
                "LlamaAttention needs rotary tables and a mask: call forward(ps, x, AttentionContext, training)");
    }
}
