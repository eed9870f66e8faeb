package dev.peft4j.core.checkpoint;

import dev.peft4j.core.model.hooks.PrefixHost;
import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.List;

/**
 * Gradient checkpointing over a model's tree, Hugging Face's {@code
 * model.gradient_checkpointing_enable()}: every {@link HasLayerStack} module (BERT's {@code
 * encoder}, the Llama family's {@code model}) keeps only its layers' inputs in a training pass
 * and recomputes each layer, with the same dropout masks, when {@link #backward} runs after the
 * loss's backward pass. The adapters' gradients are those of a run without checkpointing; the
 * cost is one more forward pass of the layers (of a Llama layer without its frozen output
 * projections, {@link ResidualBlockLayer}), the saving all activations inside the layers.
 *
 * <pre>{@code
 * GradientCheckpointing.enable(peftModel);
 * try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
 *     NDArray loss = Losses.crossEntropy(model.forward(ps, ids, mask, null, true), labels);
 *     gc.backward(loss);
 *     GradientCheckpointing.backward(peftModel); // the layers' share of the gradients
 * }
 * }</pre>
 *
 * <p>{@code AdapterTrainer} calls {@link #backward} after every micro-batch, and {@code
 * FineTuner} enables checkpointing for a run with {@code TrainingArguments.optGradientCheckpointing}.
 * Passes with a KV cache, inference passes and passes outside a gradient collector are never
 * checkpointed. Prefix tuning is refused, as PEFT does ({@link LayerStack#PREFIX_TUNING_REFUSED}):
 * its per-layer keys and values share one graph that every layer's recomputation would traverse.
 */
public final class GradientCheckpointing {

    private GradientCheckpointing() {}

    /**
     * Turns checkpointing on for every layer stack of the tree.
     *
     * @param model the model (a PEFT model, a task model or a bare stack)
     * @throws IllegalArgumentException when the tree has no stack that can be checkpointed
     * @throws IllegalStateException when a prefix-tuning adapter is installed
     */
    public static void enable(Module model) {
        List<LayerStack> stacks = stacks(model);
        if (stacks.isEmpty()) {
            throw new IllegalArgumentException("gradient checkpointing: " + model.getClass().getSimpleName()
                    + " has no layer stack that supports it (BERT's encoder or a Llama-family model)");
        }
        for (Module m : model.namedModules().values()) {
            if (m instanceof PrefixHost host && host.keyValuePrefix() != null) {
                throw new IllegalStateException(LayerStack.PREFIX_TUNING_REFUSED);
            }
        }
        stacks.forEach(s -> s.setEnabled(true));
    }

    /**
     * Turns checkpointing off for every layer stack of the tree.
     *
     * @param model the model
     */
    public static void disable(Module model) {
        stacks(model).forEach(s -> {
            s.setEnabled(false);
            s.discard();
        });
    }

    /**
     * @param model the model
     * @return whether some layer stack of the tree is checkpointed
     */
    public static boolean isEnabled(Module model) {
        return stacks(model).stream().anyMatch(LayerStack::isEnabled);
    }

    /**
     * @param model the model
     * @return its layer stacks, in tree order
     */
    public static List<LayerStack> stacks(Module model) {
        List<LayerStack> out = new ArrayList<>();
        for (Module m : model.namedModules().values()) {
            if (m instanceof HasLayerStack s) {
                out.add(s.layerStack());
            }
        }
        return out;
    }

    /**
     * Runs the recomputations of the training passes since the last call, after the loss's
     * backward pass: the gradients of everything inside the checkpointed layers (and before them)
     * accumulate into the parameters. A no-op when nothing was checkpointed.
     *
     * @param model the model
     */
    public static void backward(Module model) {
        backward(stacks(model));
    }

    /**
     * {@link #backward(Module)} over stacks found once ({@link #stacks}), the last stack first.
     *
     * @param stacks the layer stacks
     */
    public static void backward(List<LayerStack> stacks) {
        for (int i = stacks.size() - 1; i >= 0; i--) {
            stacks.get(i).backward();
        }
    }
}
