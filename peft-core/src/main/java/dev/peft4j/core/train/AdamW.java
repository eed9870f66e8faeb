package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * AdamW with decoupled weight decay, step for step as {@code torch.optim.AdamW} (single-tensor
 * path, {@code amsgrad=False}):
 *
 * <pre>
 * p ← p − lr·wd·p
 * m ← m + (1 − β1)(g − m)            (= β1·m + (1 − β1)·g)
 * v ← β2·v + (1 − β2)·g²
 * p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 * </pre>
 *
 * <p>Defaults: lr is the trainer's (2e-4), β1 0.9, β2 0.999, ε 1e-8, weight decay 0.01.
 */
public final class AdamW implements ParameterOptimizer {

    /** Slot of the first moment. */
    public static final String EXP_AVG = "exp_avg";

    /** Slot of the second moment. */
    public static final String EXP_AVG_SQ = "exp_avg_sq";

    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;

    private AdamW(Builder b) {
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.eps = b.eps;
        this.weightDecay = b.weightDecay;
    }

    /** @return a builder with torch's defaults and weight decay 0.01 */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return "adamw";
    }

    @Override
    public List<String> stateSlots() {
        return List.of(EXP_AVG, EXP_AVG_SQ);
    }

    @Override
    public void update(String path, NDArray param, NDArray grad, double lr, OptimizerState state) {
        long t = state.step();
        NDArray m = state.slot(path, EXP_AVG, param);
        NDArray v = state.slot(path, EXP_AVG_SQ, param);
        if (weightDecay != 0) {
            param.muli((float) (1 - lr * weightDecay));
        }
        try (NDArray d = grad.sub(m)) {
            m.addi(d.muli((float) (1 - beta1)));
        }
        v.muli((float) beta2);
        try (NDArray g2 = grad.mul(grad)) {
            v.addi(g2.muli((float) (1 - beta2)));
        }
        double bias1 = 1 - Math.pow(beta1, t);
        double bias2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
        double stepSize = lr / bias1;
        try (NDArray denom = v.sqrt();
                NDArray update = m.mul((float) -stepSize)) {
            denom.divi((float) bias2Sqrt).addi((float) eps);
            param.addi(update.divi(denom));
        }
    }

    @Override
    public String toString() {
        return "AdamW(betas=(" + beta1 + ", " + beta2 + "), eps=" + eps + ", weight_decay=" + weightDecay + ")";
    }

    /** Builder of {@link AdamW}; every setting is optional. */
    public static final class Builder {
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay = 0.01;

        private Builder() {}

        /**
         * @param beta1 first-moment decay in [0, 1), default 0.9
         * @param beta2 second-moment decay in [0, 1), default 0.999
         * @return this builder
         */
        public Builder optBetas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /**
         * @param eps denominator term, positive, default 1e-8
         * @return this builder
         */
        public Builder optEpsilon(double eps) {
            this.eps = eps;
            return this;
        }

        /**
         * @param weightDecay decoupled weight decay, not negative, default 0.01
         * @return this builder
         */
        public Builder optWeightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /**
         * @return the optimizer
         * @throws IllegalArgumentException naming the invalid field
         */
        public AdamW build() {
            if (!(beta1 >= 0 && beta1 < 1)) {
                throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
            }
            if (!(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("eps must be positive, got " + eps);
            }
            if (!(weightDecay >= 0)) {
                throw new IllegalArgumentException("weightDecay must not be negative, got " + weightDecay);
            }
            return new AdamW(this);
        }
    }
}
