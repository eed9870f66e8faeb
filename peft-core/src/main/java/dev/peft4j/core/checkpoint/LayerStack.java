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
 * <p>Forward ({@link #forward}): layers {@code 0 .. n-2} without recording, keeping {@code h_0 ..
 * h_{n-2}} (detached, {@code [B, T, H]} each); the last layer is recorded as usual from {@code
 * h_{n-1}} made a leaf that requires a gradient (its activations are needed as soon as the loss's
 * backward pass starts, so recomputing it would only cost time), and so are the head and the loss.
 * The loss's backward pass runs through the last layer, frees its activations and leaves {@code
 * g_{n-1} = dL/dh_{n-1}}; {@link #backward()} then walks {@code i = n-2 .. 0}: recompute {@code y =
 * f_i(x)} from {@code x = h_i} (a leaf requiring a gradient) with recording and the layer's
 * dropout masks of the first pass ({@link LayerSeeds}), back-propagate {@code g_{i+1}} through it
 * (PyTorch's {@code y.backward(g)}, the gradient of the surrogate {@code sum(y ⊙ g)}), which
 * accumulates the gradients of the layer's trainable parameters, and read {@code g_i = x.grad}.
 * When {@code h_0} may carry a graph (prompt tuning's virtual tokens, trainable embeddings: the
 * host says so, as DJL cannot tell whether a non-leaf array requires a gradient) {@code g_0} is
 * finally back-propagated into it; when it cannot (frozen embeddings), layer 0 computes no input
 * gradient. With one layer nothing is recomputed: the layer is recorded from {@code h_0} itself.
 *
 * <p>Memory: each layer of either pass runs in a sub-manager closed when it is done, so only the
 * layer inputs live across the step, plus one layer's activations during its recomputation. A
 * recomputation runs with a {@link FrozenLinearTape} active: frozen layers that record themselves
 * on it (4-bit linear layers) keep no weight for the backward pass and get their input gradients
 * from the tape after the layer's backward pass.
 * The last layer is recorded in the forward pass itself (its activations are needed as soon as
 * backward starts), unless a previous pass showed that it holds such tape-recording layers: their
 * recorded forward would keep the dequantized weights the tape exists to drop, so such a stack
 * recomputes every layer. Cost: one more forward pass of all layers but the last (of all layers
 * over a 4-bit base).
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
    /** Null until a pass has run the last layer under a tape; then whether it recorded on it. */
    private Boolean lastLayerUsesTape;

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
     * @return {@code h_n} in {@code h}'s manager: recorded from the leaf {@code h_{n-1}}, or itself a leaf when every
     *     layer is recomputed
     */
    public NDArray forward(NDArray h, int n, CheckpointedLayer layer, DropoutMasks masks,
            boolean inputMayHaveGraph) {
        NDManager outer = h.getManager();
        LayerSeeds seeds = LayerSeeds.draw(masks, outer);
        boolean inputHasGraph = inputMayHaveGraph || h.hasGradient();
        boolean recordLast = n > 1 && Boolean.FALSE.equals(lastLayerUsesTape);
        int untracked = recordLast ? n - 1 : n;
        NDArray[] inputs = new NDArray[n];
        NDArray x = h;
        try (GradMode off = GradMode.set(false)) {
            for (int i = 0; i < untracked; i++) {
                inputs[i] = x;
                if (i == n - 1) {
                    try (FrozenLinearTape probe = FrozenLinearTape.start()) {
                        x = run(layer, i, x, seeds, masks, outer);
                        lastLayerUsesTape = probe.hasUsers();
                    }
                } else {
                    x = run(layer, i, x, seeds, masks, outer);
                }
            }
        }
        if (!recordLast) {
            x.setRequiresGradient(true); // h_n, computed without recording: the recomputation's carrier
            pending.add(new Segment(h, inputHasGraph, inputs, x, n - 1, seeds, layer, masks));
            return x;
        }
        inputs[n - 1] = x;
        x.setRequiresGradient(true); // h_{n-1} was computed without recording: a leaf
        NDArray y = run(layer, n - 1, x, seeds, masks, outer);
        pending.add(new Segment(h, inputHasGraph, inputs, x, n - 2, seeds, layer, masks));
        return y;
    }

    /** Runs layer {@code i} in a sub-manager; the output goes to {@code outer}. */
    private static NDArray run(CheckpointedLayer layer, int i, NDArray x, LayerSeeds seeds, DropoutMasks masks,
            NDManager outer) {
        try (NDManager scope = outer.newSubManager()) {
            x.tempAttach(scope); // temporaries land in x's manager; x goes back to outer
            NDArray out = layer.forward(i, x, seeds.enter(masks, i));
            out.attach(outer);
            return out;
        }
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

    /**
     * One checkpointed forward pass: {@code carrier}, a leaf (h_n, or h_{n-1} when the last layer
     * was recorded in the forward pass), receives the gradient that starts the recomputation of
     * layers {@code first} down to 0.
     */
    private record Segment(NDArray input, boolean inputHasGraph, NDArray[] inputs, NDArray carrier, int first,
            LayerSeeds seeds, CheckpointedLayer layer, DropoutMasks masks) {

        void backward() {
            if (first < 0 || carrier.isReleased() || !carrier.hasGradient()) {
                return;
            }
            NDManager outer = carrier.getManager();
            NDArray g = carrier.getGradient();
            g.attach(outer);
            if (first < inputs.length - 1) {
                carrier.close(); // h_{n-1}: its layer's graph is done
            }
            try (GradMode on = GradMode.set(true)) {
                for (int i = first; i >= 0; i--) {
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
