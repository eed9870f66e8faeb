package dev.peft4j.core.checkpoint;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Frozen linear maps whose input gradient is computed by hand, so that autograd never keeps their
 * (large, recomputable) weights: the memory side of a 4-bit layer recomputed under gradient
 * checkpointing.
 *
 * <p>For a frozen {@code y = x·Wᵀ (+ b)} autograd keeps {@code W} (for a 4-bit layer: the
 * dequantized float32 copy) until the backward pass has used it for {@code dL/dx = dL/dy · W}. A
 * layer that {@link #record records} itself instead computes {@code y} without recording, returns
 * it as a new leaf that requires a gradient, and hands the tape a function {@code dy ↦ dy·W}
 * (dequantizing again when called). After the recomputed layer's backward pass ({@code
 * y_out.backward(g)}, keeping the graph) has filled {@code dL/dy} of every recorded leaf, {@link
 * #backward(NDManager)} walks the records in reverse order of recording, sums {@code dy·W} per input array
 * and, at the earliest record of an input, back-propagates the sum into it ({@code
 * x.backward(Σ dy·W)}). Reverse recording order is a reverse topological order, so every leaf's
 * gradient is complete when it is read; the result equals autograd's (the same products, summed
 * in another order: equal within float round-off).
 *
 * <p>Memory: at most one frozen weight is dequantized at a time, in either pass, instead of every
 * weight of the recomputed layer (Llama-2-7B: 172 MiB instead of 772 MiB). Cost: each recorded
 * weight is dequantized once more, and the parts of the graph between recorded layers are
 * traversed once per recorded input.
 *
 * <p>A tape is active on one thread between {@link #start()} and {@link #close()} ({@link
 * LayerStack} does this around each recomputed layer); layers ask {@link #active()}. Not
 * thread-safe.
 */
public final class FrozenLinearTape implements AutoCloseable {

    /** The input gradient of a frozen linear map, {@code dy ↦ dy·W}; runs without recording. */
    @FunctionalInterface
    public interface InputGradient {

        /**
         * @param dy {@code dL/dy}, the shape of the layer's output
         * @return {@code dL/dx}, the shape and data type of the layer's input
         */
        NDArray apply(NDArray dy);
    }

    private static final ThreadLocal<FrozenLinearTape> ACTIVE = new ThreadLocal<>();

    private final FrozenLinearTape previous;
    private final List<Entry> entries = new ArrayList<>();
    private boolean declared;

    private FrozenLinearTape(FrozenLinearTape previous) {
        this.previous = previous;
    }

    /**
     * Starts a tape on this thread (it replaces the current one until closed).
     *
     * @return the tape, to close when its {@link #backward(NDManager)} has run
     */
    public static FrozenLinearTape start() {
        FrozenLinearTape tape = new FrozenLinearTape(ACTIVE.get());
        ACTIVE.set(tape);
        return tape;
    }

    /** @return the tape active on this thread, or null */
    public static FrozenLinearTape active() {
        return ACTIVE.get();
    }

    /** @return the number of recorded layers */
    public int size() {
        return entries.size();
    }

    /**
     * Notes that a layer which records on an active tape ran while nothing was recorded (gradient
     * mode off), so that a caller probing a layer learns it holds such layers.
     */
    public void declare() {
        declared = true;
    }

    /** @return whether a layer recorded on this tape, or {@linkplain #declare() declared} it would */
    public boolean hasUsers() {
        return declared || !entries.isEmpty();
    }

    /**
     * Records a frozen linear map's call.
     *
     * @param x the input (when it requires no gradient, the input gradient is computed and dropped)
     * @param y the output, computed without recording
     * @param gradient {@code dy ↦ dL/dx}
     * @return {@code y}, now a leaf that requires a gradient
     */
    public NDArray record(NDArray x, NDArray y, InputGradient gradient) {
        y.setRequiresGradient(true);
        entries.add(new Entry(x, y, gradient));
        return y;
    }

    /**
     * Back-propagates the recorded layers' output gradients into their inputs (see the class
     * comment); call it after the backward pass of the output that depends on them, run with the
     * graph kept. Arrays created here live in {@code work}.
     *
     * @param work the manager of the temporaries (closed by the caller)
     */
    public void backward(NDManager work) {
        Map<NDArray, Integer> earliest = new IdentityHashMap<>();
        for (int i = 0; i < entries.size(); i++) {
            earliest.putIfAbsent(entries.get(i).x, i);
        }
        Map<NDArray, NDArray> sums = new IdentityHashMap<>();
        for (int i = entries.size() - 1; i >= 0; i--) {
            Entry e = entries.get(i);
            NDArray dx = null;
            if (e.y.hasGradient()) {
                try (GradMode off = GradMode.set(false); NDManager scope = work.newSubManager()) {
                    NDArray dy = e.y.getGradient();
                    dy.attach(scope);
                    dx = e.gradient.apply(dy);
                    NDArray sum = sums.get(e.x);
                    if (sum != null) {
                        sum.attach(scope);
                        dx = sum.add(dx);
                    }
                    dx.attach(work);
                }
                sums.put(e.x, dx);
            }
            if (earliest.get(e.x) == i) {
                NDArray sum = sums.remove(e.x);
                if (sum != null) {
                    backward(e.x, sum);
                    sum.close();
                }
            }
        }
        entries.clear();
    }

    /** Deactivates this tape (restoring the one it replaced); records are dropped. */
    @Override
    public void close() {
        entries.clear();
        if (ACTIVE.get() == this) {
            if (previous == null) {
                ACTIVE.remove();
            } else {
                ACTIVE.set(previous);
            }
        }
    }

    /** {@code x.backward(g)} keeping the graph; nothing when {@code x} has no graph. */
    static void backward(NDArray x, NDArray g) {
        try {
            JniUtils.backward((PtNDArray) x, (PtNDArray) g, true, false);
        } catch (EngineException e) {
            if (e.getMessage() == null || !e.getMessage().contains("does not require grad")) {
                throw e;
            }
        }
    }

    private record Entry(NDArray x, NDArray y, InputGradient gradient) {}
}
