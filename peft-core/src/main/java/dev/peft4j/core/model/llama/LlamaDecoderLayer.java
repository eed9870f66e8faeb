package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.RmsNorm;

/**
 * One pre-norm decoder layer, Hugging Face's {@code LlamaDecoderLayer}: {@code h = x +
 * self_attn(input_layernorm(x))}, {@code out = h + mlp(post_attention_layernorm(h))}.
 */
public class LlamaDecoderLayer extends Module {

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
        NDArray h = x.add(((LlamaAttention) child("self_attn")).forward(ps, normed, ctx, training));
        NDArray normed2 = ((RmsNorm) child("post_attention_layernorm")).forward(ps, h, training);
        return h.add(((LlamaMlp) child("mlp")).forward(ps, normed2, training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException(
                "LlamaDecoderLayer needs rotary tables and a mask: call forward(ps, x, AttentionContext, training)");
    }
}
