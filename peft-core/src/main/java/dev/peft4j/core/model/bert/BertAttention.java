package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.model.hooks.Sublayer;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Module;

/** A layer's attention block ({@code attention}): children {@code self} and {@code output}. */
public class BertAttention extends Module {

    /** @param config the model's config */
    public BertAttention(BertConfig config) {
        registerModule("self", new BertSelfAttention(config));
        registerModule("output", new BertOutput(config, config.hiddenSize(), Sublayer.ATTENTION));
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
     * With a key/value prefix (see {@link BertSelfAttention#forward(ParameterStore, NDArray, NDArray,
     * NDArray, NDArray, boolean, DropoutMasks)}).
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
        NDArray context = ((BertSelfAttention) child("self"))
                .forward(ps, hidden, additiveMask, prefixKey, prefixValue, training, masks);
        return ((BertOutput) child("output")).forward(ps, context, hidden, training, masks);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(ps, inputs.get(0), mask, training, DropoutMasks.engine()));
    }
}
