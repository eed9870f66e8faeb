package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD} (dampening 0): with weight decay {@code
 * g ← g + wd·p}; with momentum {@code b ← μ·b + g} (b starts at 0, so the first step uses g) and
 * {@code g ← b}, or {@code g ← g + μ·b} when Nesterov; then {@code p ← p − lr·g}.
 */
public final class Sgd implements ParameterOptimizer {

    /** Slot of the momentum buffer. */
    public static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final double momentum;
    private final double weightDecay;
    private final boolean nesterov;

    private Sgd(Builder b) {
        this.momentum = b.momentum;
        this.weightDecay = b.weightDecay;
        this.nesterov = b.nesterov;
    }

    /** @return a builder: no momentum, no weight decay */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return "sgd";
    }

    @Override
    public List<String> stateSlots() {
        return momentum == 0 ? List.of() : List.of(MOMENTUM_BUFFER);
    }

    @Override
    public void update(String path, NDArray param, NDArray grad, double lr, OptimizerState state) {
        try (NDArray g = grad.duplicate()) {
            if (weightDecay != 0) {
                try (NDArray decay = param.mul((float) weightDecay)) {
                    g.addi(decay);
                }
            }
            NDArray direction = g;
            if (momentum != 0) {
                NDArray buf = state.slot(path, MOMENTUM_BUFFER, param);
                buf.muli((float) momentum).addi(g);
                if (nesterov) {
                    try (NDArray look = buf.mul((float) momentum)) {
                        g.addi(look);
                    }
                } else {
                    direction = buf;
                }
            }
            try (NDArray u = direction.mul((float) lr)) {
                param.subi(u);
            }
        }
    }

    @Override
    public String toString() {
        return "Sgd(momentum=" + momentum + ", weight_decay=" + weightDecay + ", nesterov=" + nesterov + ")";
    }

    /** Builder of {@link Sgd}; every setting is optional. */
    public static final class Builder {
        private double momentum;
        private double weightDecay;
        private boolean nesterov;

        private Builder() {}

        /**
         * @param momentum momentum factor in [0, 1), default 0
         * @return this builder
         */
        public Builder optMomentum(double momentum) {
            this.momentum = momentum;
            return this;
        }

        /**
         * @param weightDecay L2 penalty added to the gradient, not negative, default 0
         * @return this builder
         */
        public Builder optWeightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /**
         * @param nesterov whether to use Nesterov momentum (needs momentum), default false
         * @return this builder
         */
        public Builder optNesterov(boolean nesterov) {
            this.nesterov = nesterov;
            return this;
        }

        /**
         * @return the optimizer
         * @throws IllegalArgumentException naming the invalid field
         */
        public Sgd build() {
            if (!(momentum >= 0 && momentum < 1)) {
                throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
            }
            if (!(weightDecay >= 0)) {
                throw new IllegalArgumentException("weightDecay must not be negative, got " + weightDecay);
            }
            if (nesterov && momentum == 0) {
                throw new IllegalArgumentException("nesterov needs a positive momentum");
            }
            return new Sgd(this);
        }
    }
}
