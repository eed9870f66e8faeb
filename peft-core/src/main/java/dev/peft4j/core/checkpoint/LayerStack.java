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
 * <p><b>Frozen output projections are not recomputed.</b> For a {@link ResidualBlockLayer} (a
 * Llama decoder layer: {@code h = x + o_proj(attn(x))}, {@code out = h + down_proj(mlp(h))})
 * whose block ends in a {@link FrozenLinear} tail with no residual hook, the backward pass needs
 * only {@code dy·W} of that tail, not its output. The forward pass then also keeps the input of
 * the following block ({@code h}: one more {@code [B, T, H]} array per layer), and the
 * recomputation runs each block from its input made a leaf: a skipped block only up to the tail's
 * input, into which {@code g·W} is back-propagated, its input gradient being the leaf's plus
 * {@code g} (the residual); another block whole. Blocks are run in order, so the dropout masks are
 * those of the first pass (a frozen tail draws none). For a Llama layer with plain {@code o_proj}
 * and {@code down_proj} this removes about a third of the recomputed projection work. A layer
 * with 4-bit (tape-recording) linear maps, found by a probe tape in the forward pass, keeps no
 * {@code h}: memory first over a 4-bit base; its attention block is recomputed whole and only the
 * MLP block stops at {@code down_proj}'s input (a quarter of the projection work and of the
 * dequantization saved).
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
        boolean[][] skips = new boolean[n][];
        NDArray[][] mids = new NDArray[n][];
        NDArray x = h;
        try (GradMode off = GradMode.set(false)) {
            for (int i = 0; i < untracked; i++) {
                inputs[i] = x;
                skips[i] = tailSkips(layer, i);
                mids[i] = new NDArray[skips[i].length];
                try (FrozenLinearTape probe = FrozenLinearTape.start()) {
                    x = run(layer, i, x, seeds, masks, outer, skips[i], mids[i]);
                    if (probe.hasUsers()) {
                        skips[i] = dropMids(skips[i], mids[i]);
                    }
                    if (i == n - 1) {
                        lastLayerUsesTape = probe.hasUsers();
                    }
                }
            }
        }
        if (!recordLast) {
            x.setRequiresGradient(true); // h_n, computed without recording: the recomputation's carrier
            pending.add(new Segment(h, inputHasGraph, inputs, skips, mids, x, n - 1, seeds, layer, masks));
            return x;
        }
        inputs[n - 1] = x;
        x.setRequiresGradient(true); // h_{n-1} was computed without recording: a leaf
        NDArray y = run(layer, n - 1, x, seeds, masks, outer, NO_SKIPS, null);
        pending.add(new Segment(h, inputHasGraph, inputs, skips, mids, x, n - 2, seeds, layer, masks));
        return y;
    }

    private static final boolean[] NO_SKIPS = new boolean[0];

    /**
     * Which blocks of layer {@code i} the recomputation stops at their frozen tail (decided in the
     * forward pass, which keeps the inputs of the blocks that follow them); none for a layer that
     * is not a {@link ResidualBlockLayer}.
     */
    private static boolean[] tailSkips(CheckpointedLayer layer, int i) {
        if (!(layer instanceof ResidualBlockLayer blocks)) {
            return NO_SKIPS;
        }
        boolean[] out = new boolean[blocks.blockCount(i)];
        for (int b = 0; b < out.length; b++) {
            out[b] = blocks.frozenTail(i, b) != null;
        }
        return anySkip(out) ? out : NO_SKIPS;
    }

    /**
     * A layer with tape-recording (4-bit) linear maps keeps no mid-layer input: memory comes first
     * over a 4-bit base (TinyLlama at sequence 256: 22 × 2 MiB would cross the 1.6 GiB budget), so
     * a block whose successor's input would have been kept is recomputed whole, and only the last
     * block (the MLP, whose input is recomputed) still stops at its frozen tail.
     *
     * @return the skips left
     */
    private static boolean[] dropMids(boolean[] skips, NDArray[] mids) {
        if (mids == null) {
            return skips;
        }
        for (int b = 1; b < mids.length; b++) {
            if (mids[b] != null) {
                mids[b].close();
                mids[b] = null;
                skips[b - 1] = false;
            }
        }
        return anySkip(skips) ? skips : NO_SKIPS;
    }

    private static boolean anySkip(boolean[] skips) {
        for (boolean s : skips) {
            if (s) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs layer {@code i} in a sub-manager; the output goes to {@code outer}. With tail skips the
     * layer runs block by block and the input of every block after a skipped tail is kept in
     * {@code mids} (in {@code outer}).
     */
    private static NDArray run(CheckpointedLayer layer, int i, NDArray x, LayerSeeds seeds, DropoutMasks masks,
            NDManager outer, boolean[] skips, NDArray[] mids) {
        try (NDManager scope = outer.newSubManager()) {
            x.tempAttach(scope); // temporaries land in x's manager; x goes back to outer
            DropoutMasks layerMasks = seeds.enter(masks, i);
            NDArray out;
            if (anySkip(skips)) {
                ResidualBlockLayer blocks = (ResidualBlockLayer) layer;
                out = x;
                for (int b = 0; b < skips.length; b++) {
                    if (b > 0 && skips[b - 1]) {
                        mids[b] = out;
                    }
                    out = blocks.block(i, b, out, layerMasks);
                }
                for (NDArray mid : mids) {
                    if (mid != null) {
                        mid.attach(outer);
                    }
                }
            } else {
                out = layer.forward(i, x, layerMasks);
            }
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
     * layers {@code first} down to 0. {@code skips[i]} says which blocks of layer {@code i} stop at
     * their frozen tail (empty: the layer is recomputed whole), {@code mids[i][b]} is the kept input
     * of block {@code b} when block {@code b-1} does.
     */
    private record Segment(NDArray input, boolean inputHasGraph, NDArray[] inputs, boolean[][] skips,
            NDArray[][] mids, NDArray carrier, int first, LayerSeeds seeds, CheckpointedLayer layer,
            DropoutMasks masks) {

        void backward() {
            if (first < 0 || carrier.isReleased() || !carrier.hasGradient()) {
                closeMids();
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
                        DropoutMasks layerMasks = seeds.enter(masks, i);
                        if (anySkip(skips[i])) {
                            g = recomputeBlocks(i, x, layerMasks, g, wantInputGradient, scope);
                        } else {
                            try (FrozenLinearTape tape = FrozenLinearTape.start()) {
                                NDArray y = layer.forward(i, x, layerMasks);
                                backwardIfTracked(y, g, tape.size() > 0);
                                tape.backward(scope);
                            }
                            g = wantInputGradient ? x.getGradient() : null;
                        }
                        if (g == null) {
                            break;
                        }
                        g.attach(outer);
                    } finally {
                        if (i > 0) {
                            inputs[i].close(); // h_i is no longer needed; h_0 is the caller's
                        }
                        closeMids(i);
                    }
                }
                if (g != null) {
                    backwardIfTracked(input, g, false);
                    g.close();
                }
            } finally {
                closeMids();
            }
        }

        /**
         * Layer {@code i} recomputed block by block, every block from its input made a leaf: a
         * skipped block up to its tail's input, which gets {@code g·W}; its input gradient is then
         * the leaf's plus {@code g} (the residual). Blocks are run in order (their dropout masks as
         * in the first pass) and back-propagated in reverse, each with its own tape.
         *
         * @return {@code dL/dx}, or null when it is not wanted
         */
        private NDArray recomputeBlocks(int i, NDArray x, DropoutMasks layerMasks, NDArray g,
                boolean wantInputGradient, NDManager scope) {
            ResidualBlockLayer blocks = (ResidualBlockLayer) layer;
            boolean[] skip = skips[i];
            int n = skip.length;
            NDArray[] leaves = new NDArray[n];
            NDArray[] outs = new NDArray[n]; // the tail's input (skipped) or the block's output
            FrozenLinearTape.InputGradient[] tails = new FrozenLinearTape.InputGradient[n];
            FrozenLinearTape[] tapes = new FrozenLinearTape[n];
            try {
                for (int b = 0; b < n; b++) {
                    NDArray in = x;
                    if (b > 0) {
                        in = (skip[b - 1] ? mids[i][b] : outs[b - 1]).stopGradient();
                        in.attach(scope);
                        in.setRequiresGradient(true);
                    }
                    leaves[b] = in;
                    tapes[b] = FrozenLinearTape.start();
                    if (skip[b]) {
                        tails[b] = blocks.frozenTail(i, b);
                        if (tails[b] == null) {
                            throw new IllegalStateException("gradient checkpointing: layer " + i + ", block " + b
                                    + ": its output projection changed between the forward pass and the"
                                    + " recomputation");
                        }
                        outs[b] = blocks.body(i, b, in, layerMasks);
                    } else {
                        outs[b] = blocks.block(i, b, in, layerMasks);
                    }
                }
                NDArray gOut = g;
                for (int b = n - 1; b >= 0; b--) {
                    NDArray seed = gOut;
                    if (skip[b]) {
                        try (GradMode off = GradMode.set(false)) {
                            seed = tails[b].apply(gOut);
                        }
                    }
                    backwardIfTracked(outs[b], seed, tapes[b].size() > 0);
                    tapes[b].backward(scope);
                    tapes[b].close();
                    tapes[b] = null;
                    if (b == 0 && !wantInputGradient) {
                        return null;
                    }
                    NDArray gIn = leaves[b].getGradient();
                    if (skip[b]) {
                        try (GradMode off = GradMode.set(false)) {
                            gIn = gIn.add(gOut); // the residual x of x + tail(body(x))
                        }
                    }
                    gOut = gIn;
                }
                return gOut;
            } finally {
                for (int b = n - 1; b >= 0; b--) {
                    if (tapes[b] != null) {
                        tapes[b].close();
                    }
                }
            }
        }

        private void closeMids(int i) {
            if (mids[i] != null) {
                for (NDArray mid : mids[i]) {
                    if (mid != null) {
                        mid.close();
                    }
                }
                mids[i] = null;
            }
        }

        private void closeMids() {
            for (int i = 0; i < mids.length; i++) {
                closeMids(i);
            }
        }
    }
}
