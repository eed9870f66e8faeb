package dev.peft4j.core.model.llama;

import java.util.Objects;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * How {@link Generator} picks tokens: greedy when the temperature is 0, otherwise sampling from
 * the softmax of {@code logits / temperature}, restricted to the {@code topK} most likely tokens
 * and to the smallest set whose probability reaches {@code topP} (nucleus), in that order, as
 * Hugging Face's logits warpers do. Generation stops at an end-of-sequence token or after {@code
 * maxNewTokens}.
 *
 * <pre>{@code
 * GenerationConfig cfg = GenerationConfig.builder().setMaxNewTokens(32)
 *         .optTemperature(0.7f).optTopP(0.9f).optSeed(42).build();
 * }</pre>
 */
public final class GenerationConfig {

    private final int maxNewTokens;
    private final float temperature;
    private final int topK;
    private final float topP;
    private final Long seed;
    private final Set<Long> eosTokenIds;

    private GenerationConfig(Builder b) {
        this.maxNewTokens = b.maxNewTokens;
        this.temperature = b.temperature;
        this.topK = b.topK;
        this.topP = b.topP;
        this.seed = b.seed;
        this.eosTokenIds = b.eosTokenIds == null ? null : Set.copyOf(b.eosTokenIds);
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the most tokens to generate */
    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** @return the softmax temperature; 0 means greedy */
    public float temperature() {
        return temperature;
    }

    /** @return whether tokens are chosen by argmax */
    public boolean isGreedy() {
        return temperature == 0f;
    }

    /** @return how many most likely tokens may be sampled; 0 for no limit */
    public int topK() {
        return topK;
    }

    /** @return the nucleus probability mass; 1 for no limit */
    public float topP() {
        return topP;
    }

    /** @return the sampling seed, or {@code null} for a random one */
    public Long seed() {
        return seed;
    }

    /**
     * @return the end-of-sequence ids, or {@code null} to use the model's {@code eos_token_id}; an
     *     empty set never stops early
     */
    public Set<Long> eosTokenIds() {
        return eosTokenIds;
    }

    @Override
    public String toString() {
        return "GenerationConfig(maxNewTokens=" + maxNewTokens + ", temperature=" + temperature
                + ", topK=" + topK + ", topP=" + topP + ", seed=" + seed + ", eos=" + eosTokenIds + ")";
    }

    /** Builder of {@link GenerationConfig}: {@code setMaxNewTokens} required, the rest optional. */
    public static final class Builder {
        private int maxNewTokens = -1;
        private float temperature;
        private int topK;
        private float topP = 1f;
        private Long seed;
        private Set<Long> eosTokenIds;

        private Builder() {}

        /**
         * @param maxNewTokens the most tokens to generate, positive (required)
         * @return this builder
         */
        public Builder setMaxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /**
         * @param temperature 0 for greedy (default), positive to sample
         * @return this builder
         */
        public Builder optTemperature(float temperature) {
            this.temperature = temperature;
            return this;
        }

        /**
         * @param topK sample only among the {@code topK} most likely tokens; 0 (default) for all
         * @return this builder
         */
        public Builder optTopK(int topK) {
            this.topK = topK;
            return this;
        }

        /**
         * @param topP sample only from the smallest set of tokens whose probability reaches {@code
         *     topP}, in (0, 1]; 1 (default) for all
         * @return this builder
         */
        public Builder optTopP(float topP) {
            this.topP = topP;
            return this;
        }

        /**
         * @param seed makes sampling reproducible
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param ids end-of-sequence ids; none for never stopping early (default: the model's
         *     {@code eos_token_id})
         * @return this builder
         */
        public Builder optEosTokenIds(long... ids) {
            Objects.requireNonNull(ids, "ids");
            Set<Long> set = new LinkedHashSet<>();
            for (long id : ids) {
                set.add(id);
            }
            this.eosTokenIds = set;
            return this;
        }

        /**
         * @param ids end-of-sequence ids
         * @return this builder
         */
        public Builder optEosTokenIds(List<Long> ids) {
            this.eosTokenIds = new LinkedHashSet<>(ids);
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException when a value is out of range or maxNewTokens was not set
         */
        public GenerationConfig build() {
            if (maxNewTokens <= 0) {
                throw new IllegalArgumentException(maxNewTokens == -1
                        ? "GenerationConfig: maxNewTokens is required (setMaxNewTokens)"
                        : "GenerationConfig: maxNewTokens must be positive, got " + maxNewTokens);
            }
            if (!(temperature >= 0) || Float.isInfinite(temperature)) {
                throw new IllegalArgumentException(
                        "GenerationConfig: temperature must be >= 0 and finite, got " + temperature);
            }
            if (topK < 0) {
                throw new IllegalArgumentException("GenerationConfig: topK must be >= 0, got " + topK);
            }
            if (!(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("GenerationConfig: topP must be in (0, 1], got " + topP);
            }
            return new GenerationConfig(this);
        }
    }
}
