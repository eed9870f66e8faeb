package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;

import java.util.Collection;

/**
 * Global-norm gradient clipping with the semantics of {@code torch.nn.utils.clip_grad_norm_}: the
 * total norm is {@code sqrt(Σ ‖gᵢ‖²)} over all gradients; when {@code maxNorm / (total + 1e-6) <
 * 1} every gradient is multiplied in place by that coefficient.
 */
public final class GradientClipping {

    /** Added to the norm in the clipping coefficient, as torch does. */
    public static final double EPSILON = 1e-6;

    private GradientClipping() {}

    /**
     * @param grads the gradients
     * @return {@code sqrt(Σ ‖gᵢ‖²)}; NaN or infinite when a gradient is
     */
    public static double globalNorm(Collection<NDArray> grads) {
        double sumSq = 0;
        for (NDArray g : grads) {
            try (NDArray sq = g.mul(g);
                    NDArray s = sq.sum()) {
                sumSq += s.getFloat();
            }
        }
        return Math.sqrt(sumSq);
    }

    /**
     * Clips in place.
     *
     * @param grads the gradients, scaled in place when clipped
     * @param maxNorm the largest allowed total norm, positive
     * @return the total norm before clipping (what torch returns)
     */
    public static double clip(Collection<NDArray> grads, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("maxNorm must be positive, got " + maxNorm);
        }
        double total = globalNorm(grads);
        double coef = maxNorm / (total + EPSILON);
        if (coef < 1) {
            for (NDArray g : grads) {
                g.muli((float) coef);
            }
        }
        return total;
    }
}
