package dev.peft4j.core.model.hooks;

import ai.djl.ndarray.NDArray;

import java.util.function.UnaryOperator;

/**
 * What a {@link ResidualHook} sees at one residual connection, the arguments of AdapterHub's
 * {@code bottleneck_layer_forward(hidden_states, residual_input, layer_norm)}.
 *
 * <ul>
 *   <li>BERT ({@code BertSelfOutput}, {@code BertOutput}): {@code output} = {@code
 *       dropout(dense(x))}, {@code residual} = the block's input ({@code input_tensor}), {@code
 *       layerNorm} = the block's frozen {@code LayerNorm}; the block returns {@code
 *       LayerNorm(output + residual)}. The sublayer's input is the residual.
 *   <li>Llama: {@code output} = {@code self_attn(input_layernorm(x))} or {@code
 *       mlp(post_attention_layernorm(h))}, {@code residual} = {@code x} or {@code h}, no layer
 *       norm; the layer computes {@code output + residual}. The sublayer's input is the normalized
 *       residual.
 * </ul>
 *
 * @param output the sublayer's output before the residual add {@code [B, T, H]}
 * @param residual the residual input {@code [B, T, H]}
 * @param sublayerInput what the sublayer read ({@code [B, T, H]}; the residual for BERT, the
 *     normalized residual for Llama)
 * @param layerNorm the post-add layer norm (BERT), or {@code null} where there is none (Llama)
 */
public record Residual(NDArray output, NDArray residual, NDArray sublayerInput, UnaryOperator<NDArray> layerNorm) {

    /**
     * @param x an array {@code [B, T, H]}
     * @return {@code layerNorm(x)}, or {@code x} where there is no layer norm
     */
    public NDArray norm(NDArray x) {
        return layerNorm == null ? x : layerNorm.apply(x);
    }

    /** @return what the model computes without a hook: {@code norm(output + residual)} */
    public NDArray standard() {
        return norm(output.add(residual));
    }
}
