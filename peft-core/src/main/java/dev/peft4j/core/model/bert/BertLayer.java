package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Module;

/**
 * One transformer encoder layer ({@code encoder.layer.N}): children {@code attention}, {@code
 * intermediate}, {@code output} (post-LayerNorm, as in BERT).
 */
public class BertLayer extends Module {

    /** @param config the model's config */
    public BertLayer(BertConfig config) {
        registerModule("attention", new BertAttention(config));
        registerModule("intermediate", new BertIntermediate(config));
        registerModule("output", new BertOutput(config, config.intermediateSize()));
    }

    /**
     * @param ps the parameter store
     * @param hidden input {@code [B, T, H]}
     * @param additiveMask see {@link BertSelfAttention#forward}; may be {@code null}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return {@code [B, T, H]}
     */
    public NDArray forward(
            ParameterStore ps, NDArray hidden, NDArray additiveMask, boolean training, DropoutMasks masks) {
        return forward(ps, hidden, additiveMask, null, null, training, masks);
    }

    /**
     * With this layer's key/value prefix.
     *
     * @param ps the parameter store
     * @param hidden input {@code [B, T, H]}
     * @param additiveMask over the prefix and the tokens; may be {@code null}
     * @param prefixKey {@code [B, heads, n, headDim]}, or {@code null}
     * @param prefixValue {@code [B, heads, n, headDim]}, or {@code null}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return {@code [B, T, H]}
     */
    public NDArray forward(ParameterStore ps, NDArray hidden, NDArray additiveMask, NDArray prefixKey,
            NDArray prefixValue, boolean training, DropoutMasks masks) {
        NDArray a = ((BertAttention) child("attention"))
                .forward(ps, hidden, additiveMask, prefixKey, prefixValue, training, masks);
        NDArray i = ((BertIntermediate) child("intermediate")).forward(ps, a, training);
        return ((BertOutput) child("output")).forward(ps, i, a, training, masks);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(ps, inputs.get(0), mask, training, DropoutMasks.engine()));
    }
}
