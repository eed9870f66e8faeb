package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.model.hooks.Residual;
import dev.peft4j.core.model.hooks.ResidualHook;
import dev.peft4j.core.model.hooks.ResidualHost;
import dev.peft4j.core.model.hooks.ResidualSlot;
import dev.peft4j.core.model.hooks.Sublayer;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.LayerNorm;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

import java.util.Map;

/**
 * A projection back to the hidden width with a residual: {@code LayerNorm(dropout(dense(x)) +
 * input)}, children {@code dense} and {@code LayerNorm}. It serves both places Hugging Face has
 * such a block: the attention block's {@code attention.output} (HF's {@code BertSelfOutput}, from
 * the hidden width) and the feed-forward block's {@code output} (HF's {@code BertOutput}, from the
 * intermediate width).
 *
 * <p>Its residual connection is a {@link ResidualHost} site: with a {@link ResidualHook}
 * installed the block returns {@code hook(dropout(dense(x)), input, LayerNorm)} instead (AdapterHub's
 * {@code bottleneck_layer_forward}).
 */
public class BertOutput extends Module implements ResidualHost {

    private final float dropout;
    private final ResidualSlot residual;

    /**
     * A feed-forward output block ({@code output}).
     *
     * @param config the model's config
     * @param inFeatures the width of {@code x}: the hidden size after attention, the intermediate
     *     size after the feed-forward expansion
     */
    public BertOutput(BertConfig config, long inFeatures) {
        this(config, inFeatures, Sublayer.FEED_FORWARD);
    }

    /**
     * @param config the model's config
     * @param inFeatures the width of {@code x}
     * @param sublayer {@link Sublayer#ATTENTION} for {@code attention.output}, {@link
     *     Sublayer#FEED_FORWARD} for {@code output}
     */
    public BertOutput(BertConfig config, long inFeatures, Sublayer sublayer) {
        this.dropout = (float) config.hiddenDropoutProb();
        this.residual = new ResidualSlot(sublayer);
        registerModule("dense", new Linear(inFeatures, config.hiddenSize(), true));
        registerModule("LayerNorm", new LayerNorm(config.hiddenSize(), (float) config.layerNormEps()));
    }

    /**
     * @param ps the parameter store
     * @param x the activations to project {@code [B, T, inFeatures]}
     * @param input the residual {@code [B, T, H]}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return {@code [B, T, H]}
     */
    public NDArray forward(
            ParameterStore ps, NDArray x, NDArray input, boolean training, DropoutMasks masks) {
        NDArray h = ((LinearLike) child("dense")).forward(ps, x, training);
        h = DropoutMasks.dropout(h, dropout, training, masks);
        LayerNorm norm = (LayerNorm) child("LayerNorm");
        ResidualHook hook = residual.hook();
        if (hook == null) {
            return norm.forward(ps, h.add(input), training);
        }
        return hook.apply(ps, new Residual(h, input, input, y -> norm.forward(ps, y, training)), training);
    }

    /** @return this block's one residual site, under the block's own path */
    @Override
    public Map<String, ResidualSlot> residualSlots() {
        return Map.of("", residual);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.get(0), inputs.get(1), training, DropoutMasks.engine()));
    }
}
