package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

/** The feed-forward expansion ({@code intermediate}): {@code gelu(dense(x))}, child {@code dense}. */
public class BertIntermediate extends Module {

    /** @param config the model's config */
    public BertIntermediate(BertConfig config) {
        registerModule("dense", new Linear(config.hiddenSize(), config.intermediateSize(), true));
    }

    /**
     * @param ps the parameter store
     * @param hidden input {@code [B, T, H]}
     * @param training whether this is a training pass
     * @return {@code [B, T, intermediate]}
     */
    public NDArray forward(ParameterStore ps, NDArray hidden, boolean training) {
        return Gelu.apply(((LinearLike) child("dense")).forward(ps, hidden, training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
