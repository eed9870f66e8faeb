package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Dropout as PyTorch's {@code nn.Dropout}: in training, zeroes each element with probability
 * {@code p} and scales the rest by {@code 1/(1-p)}; the identity otherwise.
 *
 * <p>The mask comes from one seed per call (see {@link #apply}). Outside a trainer that seed is
 * drawn from the engine's generator (PyTorch's default CPU generator), which DJL can seed ({@code
 * Engine.setRandomSeed}, i.e. {@code torch.manual_seed}) but whose state it cannot save. The
 * trainers key the calling thread's {@link DropoutStream} before every micro-batch from the run
 * seed and the step ({@code StepRandom.seedEngine}), which makes masks reproducible across a
 * resume and independent of other threads training at the same time.
 *
 * <p>Thread safety: float32 CPU arrays draw only from the calling thread's stream while it is
 * keyed, so concurrent training loops on several threads each get their own reproducible masks.
 * Other arrays run {@code torch.dropout}, which draws from the process-global engine generator:
 * reproducible only when one thread trains at a time.
 */
public class Dropout extends Module {

    private final float p;

    /** @param p the drop probability in [0, 1) */
    public Dropout(double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        this.p = (float) p;
    }

    /** @return the drop probability */
    public float probability() {
        return p;
    }

    /**
     * @param x the input
     * @param training whether to drop (training) or pass through
     * @return {@code x} with dropout applied in training, {@code x} itself otherwise
     */
    public NDArray forward(NDArray x, boolean training) {
        if (!training || p == 0) {
            return x;
        }
        return apply(x, p);
    }

    /**
     * Inverted dropout in training, as {@code torch.dropout(x, rate, true)}: a float32 CPU array gets
     * a mask drawn on the host in parallel from a seed of the calling thread's {@link DropoutStream}
     * when a trainer keyed it, else of the engine's generator (much faster than PyTorch's serial
     * {@code bernoulli_} on CPUs other than Intel's, and as reproducible under {@code
     * Engine.setRandomSeed}); other arrays get {@code torch.dropout}'s (engine generator only).
     *
     * @param x the input
     * @param rate the drop probability, in {@code (0, 1)}
     * @return {@code x} with each element zeroed with probability {@code rate} and the rest scaled by
     *     {@code 1/(1-rate)}, differentiable with respect to {@code x}
     */
    public static NDArray apply(NDArray x, float rate) {
        if (HostMaskDropout.supports(x, rate)) {
            return HostMaskDropout.apply(x, rate);
        }
        return ai.djl.nn.norm.Dropout.dropout(x, rate, true).singletonOrThrow();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(inputs.singletonOrThrow(), training));
    }

    @Override
    public String toString() {
        return "Dropout(p=" + p + ")";
    }
}
