package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.model.hooks.Residual;
import dev.peft4j.core.model.hooks.ResidualHook;
import dev.peft4j.core.model.hooks.ResidualHost;
import dev.peft4j.core.model.hooks.ResidualSlot;
import dev.peft4j.core.model.hooks.Sublayer;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.RmsNorm;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One pre-norm decoder layer, Hugging Face's {@code LlamaDecoderLayer}: {@code h = x +
 * self_attn(input_layernorm(x))}, {@code out = h + mlp(post_attention_layernorm(h))}.
 *
 * <p>Both residual connections are {@link ResidualHost} sites, named as AdapterHub names its
 * bottleneck layers there: {@code attention_adapters} and {@code output_adapters}. With a {@link
 * ResidualHook} installed, {@code x + a} becomes {@code hook(a, x)} (no layer norm).
 */
public class LlamaDecoderLayer extends Module implements ResidualHost {

    private final ResidualSlot attentionResidual = new ResidualSlot(Sublayer.ATTENTION);
    private final ResidualSlot mlpResidual = new ResidualSlot(Sublayer.FEED_FORWARD);

    /**
     * @param config the model configuration
     * @param layerIndex the layer's index
     */
    public LlamaDecoderLayer(LlamaConfig config, int layerIndex) {
        float eps = (float) config.rmsNormEps();
        registerModule("self_attn", new LlamaAttention(config, layerIndex));
        registerModule("mlp", new LlamaMlp(config));
        registerModule("input_layernorm", new RmsNorm(config.hiddenSize(), eps));
        registerModule("post_attention_layernorm", new RmsNorm(config.hiddenSize(), eps));
    }

    /**
     * @param ps the parameter store
     * @param x hidden states {@code [B, T, hidden]}
     * @param ctx rotary tables, mask and cache of this pass
     * @param training whether this is a training pass
     * @return the new hidden states {@code [B, T, hidden]}
     */
    public NDArray forward(ParameterStore ps, NDArray x, AttentionContext ctx, boolean training) {
        NDArray normed = ((RmsNorm) child("input_layernorm")).forward(ps, x, training);
        NDArray a = ((LlamaAttention) child("self_attn")).forward(ps, normed, ctx, training);
        ResidualHook hook = attentionResidual.hook();
        NDArray h = hook == null ? x.add(a) : hook.apply(ps, new Residual(a, x, normed, null), training);
        NDArray normed2 = ((RmsNorm) child("post_attention_layernorm")).forward(ps, h, training);
        NDArray m = ((LlamaMlp) child("mlp")).forward(ps, normed2, training);
        hook = mlpResidual.hook();
        return hook == null ? h.add(m) : hook.apply(ps, new Residual(m, h, normed2, null), training);
    }

    /** @return {@code attention_adapters} (after self-attention) and {@code output_adapters} (after the MLP) */
    @Override
    public Map<String, ResidualSlot> residualSlots() {
        Map<String, ResidualSlot> out = new LinkedHashMap<>();
        out.put("attention_adapters", attentionResidual);
        out.put("output_adapters", mlpResidual);
        return out;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException(
                "LlamaDecoderLayer needs rotary tables and a mask: call forward(ps, x, AttentionContext, training)");
    }
}
