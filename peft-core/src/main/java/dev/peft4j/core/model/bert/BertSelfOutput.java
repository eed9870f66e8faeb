package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.LayerNorm;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

/**
 * The attention block's projection and residual ({@code attention.output}): {@code
 * LayerNorm(dropout(dense(context)) + input)}. Children {@code dense}, {@code LayerNorm}.
 */
public class BertSelfOutput extends Module {

    private final float dropout;

    /** @param config the model's config */
    public BertSelfOutput(BertConfig config) {
        this.dropout = (float) config.hiddenDropoutProb();
        registerModule("dense", new Linear(config.hiddenSize(), config.hiddenSize(), true));
        registerModule("LayerNorm", new LayerNorm(config.hiddenSize(), (float) config.layerNormEps()));
    }

    /**
     * @param ps the parameter store
     * @param context the attention context {@code [B, T, H]}
     * @param input the attention block's input (the residual) {@code [B, T, H]}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return {@code [B, T, H]}
     */
    public NDArray forward(
            ParameterStore ps, NDArray context, NDArray input, boolean training, DropoutMasks masks) {
        NDArray h = ((LinearLike) child("dense")).forward(ps, context, training);
        h = DropoutMasks.dropout(h, dropout, training, masks);
        return ((LayerNorm) child("LayerNorm")).forward(ps, h.add(input), training);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.get(0), inputs.get(1), training, DropoutMasks.engine()));
    }
}
