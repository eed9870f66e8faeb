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
 * The feed-forward contraction and residual ({@code output}, Hugging Face's {@code BertOutput}
 * module): {@code LayerNorm(dropout(dense(x)) + input)}. Children {@code dense}, {@code LayerNorm}.
 */
public class BertOutput extends Module {

    private final float dropout;

    /** @param config the model's config */
    public BertOutput(BertConfig config) {
        this.dropout = (float) config.hiddenDropoutProb();
        registerModule("dense", new Linear(config.intermediateSize(), config.hiddenSize(), true));
        registerModule("LayerNorm", new LayerNorm(config.hiddenSize(), (float) config.layerNormEps()));
    }

    /**
     * @param ps the parameter store
     * @param intermediate the expanded activations {@code [B, T, intermediate]}
     * @param input the residual {@code [B, T, H]}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return {@code [B, T, H]}
     */
    public NDArray forward(
            ParameterStore ps, NDArray intermediate, NDArray input, boolean training, DropoutMasks masks) {
        NDArray h = ((LinearLike) child("dense")).forward(ps, intermediate, training);
        h = DropoutMasks.dropout(h, dropout, training, masks);
        return ((LayerNorm) child("LayerNorm")).forward(ps, h.add(input), training);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.get(0), inputs.get(1), training, DropoutMasks.engine()));
    }
}
