package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.checkpoint.FrozenLinear;
import dev.peft4j.core.checkpoint.FrozenLinearTape;
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
        return mlpBlock(ps, attentionBlock(ps, x, ctx, training), training);
    }

    /** {@code h = x + o_proj(attend(input_layernorm(x)))}, or the hook's combination. */
    NDArray attentionBlock(ParameterStore ps, NDArray x, AttentionContext ctx, boolean training) {
        NDArray normed = ((RmsNorm) child("input_layernorm")).forward(ps, x, training);
        NDArray a = attention().forward(ps, normed, ctx, training);
        ResidualHook hook = attentionResidual.hook();
        return hook == null ? x.add(a) : hook.apply(ps, new Residual(a, x, normed, null), training);
    }

    /** {@code out = h + down_proj(mlp.hidden(post_attention_layernorm(h)))}, or the hook's combination. */
    NDArray mlpBlock(ParameterStore ps, NDArray h, boolean training) {
        NDArray normed = ((RmsNorm) child("post_attention_layernorm")).forward(ps, h, training);
        NDArray m = mlp().forward(ps, normed, training);
        ResidualHook hook = mlpResidual.hook();
        return hook == null ? h.add(m) : hook.apply(ps, new Residual(m, h, normed, null), training);
    }

    /** The attention block up to {@code o_proj}'s input. */
    NDArray attentionBody(ParameterStore ps, NDArray x, AttentionContext ctx, boolean training) {
        NDArray normed = ((RmsNorm) child("input_layernorm")).forward(ps, x, training);
        return attention().attend(ps, normed, ctx, training);
    }

    /** The MLP block up to {@code down_proj}'s input. */
    NDArray mlpBody(ParameterStore ps, NDArray h, boolean training) {
        NDArray normed = ((RmsNorm) child("post_attention_layernorm")).forward(ps, h, training);
        return mlp().hidden(ps, normed, training);
    }

    /**
     * The input gradient of a block's output projection ({@code o_proj} for block 0, {@code
     * down_proj} for block 1) when the block is {@code x + proj(body(x))} with a frozen plain
     * projection ({@link FrozenLinear}: no adapter around it, no residual hook at the site).
     *
     * @param ps the parameter store
     * @param block 0 (attention) or 1 (MLP)
     * @return {@code dy ↦ dy·W}, or null
     */
    FrozenLinearTape.InputGradient frozenTail(ParameterStore ps, int block) {
        ResidualSlot slot = block == 0 ? attentionResidual : mlpResidual;
        if (slot.hook() != null) {
            return null;
        }
        Module tail = block == 0 ? attention().child("o_proj") : mlp().child("down_proj");
        return tail instanceof FrozenLinear f ? f.frozenInputGradient(ps) : null;
    }

    private LlamaAttention attention() {
        return (LlamaAttention) child("self_attn");
    }

    private LlamaMlp mlp() {
        return (LlamaMlp) child("mlp");
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
