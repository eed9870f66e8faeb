package dev.peft4j.core.checkpoint;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.peft4j.core.nn.DropoutMasks;

import java.util.ArrayList;
import java.util.List;

/**
 * Gradient checkpointing of one stack of layers {@code h_{i+1} = f_i(h_i)}, {@code i = 0..n-1}.
 *
 * <p>Forward ({@link #forward}), without recording: {@code h_0 .. h_{n-1}} are kept (detached,
 * {@code [B, T, H]} each) and {@code h_n} is returned as a new leaf that requires a gradient; the
 * head and the loss after it are recorded as usual. After the loss's backward pass has filled
 * {@code g_n = dL/dh_n}, {@link #backward()} walks {@code i = n-1 .. 0}: recompute {@code y =
 * f_i(x)} from {@code x = h_i} (a leaf requiring a gradient) with recording and the layer's
 * dropout masks of the first pass ({@link LayerSeeds}), back-propagate {@code g_{i+1}} through it
 * (PyTorch's {@code y.backward(g)}, the gradient of the surrogate {@code sum(y ⊙ g)}), which
 * accumulates the gradients of the layer's trainable parameters, and read {@code g_i = x.grad}.
 * When {@code h_0} may carry a graph (prompt tuning's virtual tokens, trainable embeddings: the
 * host says so, as DJL cannot tell whether a non-leaf array requires a gradient) {@code g_0} is
 * finally back-propagated into it; when it cannot (frozen embeddings), layer 0 computes no input
 * gradient.
 *
 * <p>Memory: each layer of either pass runs in a sub-manager closed when it is done, so only the
 * layer inputs live across the step, plus one layer's activations during its recomputation. A
 * recomputation runs with a {@link FrozenLinearTape} active: frozen layers that record themselves
 * on it (4-bit linear layers) keep no weight for the backward pass and get their input gradients
 * from the tape after the layer's backward pass.
 * Cost: one more forward pass of the stack.
 *
 * <p>Not thread-safe: one training pass at a time per model.
 */
public final class LayerStack {

    /** The refusal for a key/value prefix, as PEFT words it. */
    public static final String PREFIX_TUNING_REFUSED = "PREFIX_TUNING does not work with gradient checkpointing"
            + " (TrainingArguments.optGradientCheckpointing, --gradient-checkpointing): turn gradient checkpointing"
            + " off for prefix tuning";

    private boolean enabled;
    private final List<Segment> pending = new ArrayList<>();

    /** @return whether training passes are checkpointed */
    public boolean isEnabled() {
        return enabled;
    }

    /** @param enabled whether training passes are checkpointed from now on */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /**
     * @param training whether the pass is a training pass
     * @return whether this pass checkpoints: enabled, training, and the engine recording gradients
     */
    public boolean checkpoints(boolean training) {
        return enabled && training && GradMode.isEnabled();
    }

    /** @return the number of forward passes whose recomputation is still to run */
    public int pendingPasses() {
        return pending.size();
    }

    /**
     * Runs the layers without recording, keeping their inputs for {@link #backward()}.
     *
     * @param h the stack's input {@code h_0} (may carry a graph)
     * @param n the number of layers
     * @param layer layer {@code i} as a function of its input
     * @param masks the model's dropout mask source
     * @param inputMayHaveGraph whether {@code h} may depend on trainable parameters (then layer 0
     *     computes its input gradient and it is back-propagated into {@code h})
     * @return {@code h_n}, a leaf that requires a gradient, in {@code h}'s manager
     */
    public NDArray forward(NDArray h, int n, CheckpointedLayer layer, DropoutMasks masks,
            boolean inputMayHaveGraph) {
        NDManager outer = h.getManager();
        LayerSeeds seeds = LayerSeeds.draw(masks, outer);
        boolean inputHasGraph = inputMayHaveGraph || h.hasGradient();
        NDArray[] inputs = new NDArray[n];
        NDArray x = h;
        try (GradMode off = GradMode.set(false)) {
            for (int i = 0; i < n; i++) {
                inputs[i] = x;
                try (NDManager scope = outer.newSubManager()) {
                    x.tempAttach(scope); // temporaries land in x's manager; x goes back to outer
                    NDArray out = layer.forward(i, x, seeds.enter(masks, i));
                    out.attach(outer);
                    x = out;
                }
            }
        }
        x.setRequiresGradient(true);
        pending.add(new Segment(h, inputHasGraph, inputs, x, seeds, layer, masks));
        return x;
    }

    /**
     * Recomputes and back-propagates every pending pass, newest first, then forgets them. Call it
     * after the backward pass of the loss (the trainer does); a pass whose output got no gradient
     * is skipped.
     */
    public void backward() {
        try {
            for (int k = pending.size() - 1; k >= 0; k--) {
                pending.get(k).backward();
            }
        } finally {
            pending.clear();
        }
    }

    /** Forgets pending passes without back-propagating them (e.g. after a failed step). */
    public void discard() {
        pending.clear();
    }

    /**
     * {@code y.backward(g)}, nothing when {@code y} depends on no trainable parameter (a frozen
     * layer 0 over frozen embeddings, untracked embeddings): DJL's {@code requiresGradient} is
     * false for every non-leaf array, so the engine is asked and its refusal recognised.
     */
    private static void backwardIfTracked(NDArray y, NDArray g, boolean keepGraph) {
        try {
            JniUtils.backward((PtNDArray) y, (PtNDArray) g, keepGraph, false);
        } catch (EngineException e) {
            if (e.getMessage() == null || !e.getMessage().contains("does not require grad")) {
                throw e;
            }
        }
    }

    /** One checkpointed forward pass. */
    private record Segment(NDArray input, boolean inputHasGraph, NDArray[] inputs, NDArray output,
            LayerSeeds seeds, CheckpointedLayer layer, DropoutMasks masks) {

        void backward() {
            if (output.isReleased() || !output.hasGradient()) {
                return;
            }
            NDManager outer = output.getManager();
            NDArray g = output.getGradient();
            g.attach(outer);
            try (GradMode on = GradMode.set(true)) {
                for (int i = inputs.length - 1; i >= 0; i--) {
                    boolean wantInputGradient = i > 0 || inputHasGraph;
                    try (NDManager scope = outer.newSubManager()) {
                        g.attach(scope); // freed with this layer
                        NDArray x = inputs[i].stopGradient();
                        x.attach(scope);
                        if (wantInputGradient) {
                            x.setRequiresGradient(true);
                        }
                        try (FrozenLinearTape tape = FrozenLinearTape.start()) {
                            NDArray y = layer.forward(i, x, seeds.enter(masks, i));
                            backwardIfTracked(y, g, tape.size() > 0);
                            tape.backward(scope);
                        }
                        if (!wantInputGradient) {
                            g = null;
                            break;
                        }
                        g = x.getGradient();
                        g.attach(outer);
                    } finally {
                        if (i > 0) {
                            inputs[i].close(); // h_i is no longer needed; h_0 is the caller's
                        }
                    }
                }
                if (g != null) {
                    backwardIfTracked(input, g, false);
                    g.close();
                }
            }
        }
    }
}
