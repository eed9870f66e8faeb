package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.checkpoint.HasLayerStack;
import dev.peft4j.core.checkpoint.LayerSeeds;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.model.hooks.PrefixKeyValues;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleList;

import java.util.ArrayList;
import java.util.List;

/**
 * The stack of encoder layers ({@code encoder}): child {@code layer}, a list {@code 0..L-1}.
 *
 * <p>In a training pass every layer starts its own random stream ({@link LayerSeeds}: the
 * engine's generator and the model's mask source are seeded from a per-pass seed and the layer
 * index). With gradient checkpointing on ({@link #layerStack()}, {@code
 * GradientCheckpointing.enable}) a training pass keeps only the layers' inputs and recomputes each
 * layer in the backward pass ({@link LayerStack}); prefix tuning is then refused.
 */
public class BertEncoder extends Module implements HasLayerStack {

    private final LayerStack layerStack = new LayerStack();

    /** @param config the model's config */
    public BertEncoder(BertConfig config) {
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new BertLayer(config));
        }
        registerModule("layer", new ModuleList<>(layers));
    }

    /**
     * Runs the layers in turn. Each layer's intermediate arrays live in a sub-manager closed when
     * the layer is done (autograd keeps what backward needs), so memory stays at about one layer's
     * activations plus the hidden states.
     *
     * @param ps the parameter store
     * @param hidden the embeddings {@code [B, T, H]}
     * @param additiveMask see {@link BertSelfAttention#forward}; may be {@code null}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return the last hidden state {@code [B, T, H]}, owned by {@code hidden}'s manager
     */
    public NDArray forward(
            ParameterStore ps, NDArray hidden, NDArray additiveMask, boolean training, DropoutMasks masks) {
        return forward(ps, hidden, additiveMask, null, training, masks);
    }

    /**
     * Runs the layers with a key/value prefix (prefix tuning): layer {@code i} attends to {@code
     * prefix.key(i)}/{@code prefix.value(i)} before the tokens.
     *
     * @param ps the parameter store
     * @param hidden the embeddings {@code [B, T, H]}
     * @param additiveMask over the {@code n + T} keys; may be {@code null}
     * @param prefix per-layer keys and values {@code [B, heads, n, headDim]}, or {@code null}
     * @param training whether this is a training pass
     * @param masks the dropout mask source
     * @return the last hidden state {@code [B, T, H]}, owned by {@code hidden}'s manager
     */
    public NDArray forward(ParameterStore ps, NDArray hidden, NDArray additiveMask, PrefixKeyValues prefix,
            boolean training, DropoutMasks masks) {
        return forward(ps, hidden, additiveMask, prefix, training, masks, true);
    }

    /**
     * {@link #forward(ParameterStore, NDArray, NDArray, PrefixKeyValues, boolean, DropoutMasks)},
     * told whether {@code hidden} may depend on trainable parameters (with checkpointing, layer 0
     * then computes its input gradient).
     */
    NDArray forward(ParameterStore ps, NDArray hidden, NDArray additiveMask, PrefixKeyValues prefix,
            boolean training, DropoutMasks masks, boolean inputTracked) {
        ModuleList<?> layers = (ModuleList<?>) child("layer");
        if (layerStack.checkpoints(training)) {
            if (prefix != null) {
                throw new IllegalStateException(LayerStack.PREFIX_TUNING_REFUSED);
            }
            return layerStack.forward(hidden, layers.size(),
                    (i, x, m) -> ((BertLayer) layers.get(i)).forward(ps, x, additiveMask, true, m), masks,
                    inputTracked);
        }
        NDManager outer = hidden.getManager();
        LayerSeeds seeds = training ? LayerSeeds.draw(masks, outer) : null;
        NDArray h = hidden;
        for (int i = 0; i < layers.size(); i++) {
            DropoutMasks layerMasks = seeds == null ? masks : seeds.enter(masks, i);
            try (NDManager scope = outer.newSubManager()) {
                if (h == hidden) {
                    h.tempAttach(scope); // the caller's array goes back to its manager
                } else {
                    h.attach(scope); // the previous layer's output is ours to free
                }
                NDArray out = prefix == null
                        ? ((BertLayer) layers.get(i)).forward(ps, h, additiveMask, training, layerMasks)
                        : ((BertLayer) layers.get(i)).forward(ps, h, additiveMask, prefix.key(i), prefix.value(i),
                                training, layerMasks);
                out.attach(outer);
                h = out;
            }
        }
        return h;
    }

    /** @return the gradient-checkpointing state of the layers */
    @Override
    public LayerStack layerStack() {
        return layerStack;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(ps, inputs.get(0), mask, training, DropoutMasks.engine()));
    }
}
