package dev.peft4j.tuners.ia3;

import dev.peft4j.core.adapter.TargetMatcher;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.peft.PeftConfig;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * An IA³ adapter's configuration with PEFT 0.20's fields ({@code IA3Config}) and defaults; {@link
 * Ia3ConfigJson} reads and writes its {@code adapter_config.json}.
 *
 * <pre>{@code
 * Ia3Config cfg = Ia3Config.builder()
 *         .setTargetModules(TargetModules.of("key", "value", "output.dense"))
 *         .setFeedforwardModules(FeedforwardModules.of("output.dense"))
 *         .build();
 * Ia3Config defaults = Ia3Config.builder().build(); // the family's defaults, filled at wrap time
 * }</pre>
 *
 * <p>{@code target_modules} and {@code feedforward_modules} left null are filled from PEFT's
 * per-family defaults ({@link Ia3Defaults}) when the adapter is added. When both are lists, every
 * feed-forward name must also be a target name ({@code ValueError} in PEFT). {@code
 * layers_to_transform} and {@code layers_pattern} are a peft4j extension (PEFT's IA³ has none):
 * written only when set.
 */
public final class Ia3Config implements PeftConfig {

    /** PEFT's {@code peft_type} of IA³. */
    public static final String PEFT_TYPE = "IA3";

    /** PEFT's task types ({@code task_type}). */
    public static final Set<String> TASK_TYPES = Set.of(
            "SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION");

    private final Builder b;

    private Ia3Config(Builder b) {
        this.b = b.copy();
    }

    /** @return a builder with PEFT's defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this configuration's values */
    public Builder toBuilder() {
        return b.copy();
    }

    /** @return {@code target_modules}, or null for the model family's default */
    public TargetModules targetModules() {
        return b.targetModules;
    }

    /** @return {@code feedforward_modules}, or null for the model family's default */
    public FeedforwardModules feedforwardModules() {
        return b.feedforwardModules;
    }

    /** @return {@code exclude_modules}, or null */
    public TargetModules excludeModules() {
        return b.excludeModules;
    }

    /** @return {@code fan_in_fan_out} (ignored with a warning: peft4j layers store {@code [out, in]}) */
    public boolean fanInFanOut() {
        return b.fanInFanOut;
    }

    @Override
    public List<String> modulesToSave() {
        return b.modulesToSave;
    }

    /** @return {@code init_ia3_weights}: ones (true, default) or N(0, 1) values (false) */
    public boolean initIa3Weights() {
        return b.initIa3Weights;
    }

    /** @return {@code layers_to_transform} (peft4j extension), or null for every layer */
    public List<Integer> layersToTransform() {
        return b.layersToTransform;
    }

    /** @return {@code layers_pattern} (peft4j extension), or null */
    public List<String> layersPattern() {
        return b.layersPattern;
    }

    @Override
    public String taskType() {
        return b.taskType;
    }

    @Override
    public String baseModelNameOrPath() {
        return b.baseModelNameOrPath;
    }

    /** @return {@code revision}, or null */
    public String revision() {
        return b.revision;
    }

    @Override
    public boolean inferenceMode() {
        return b.inferenceMode;
    }

    /** @return {@value #PEFT_TYPE} */
    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /**
     * @return the target matcher; targets must be filled ({@link Ia3Defaults#resolve})
     * @throws IllegalStateException when {@code target_modules} is still null
     */
    public TargetMatcher matcher() {
        if (b.targetModules == null) {
            throw new IllegalStateException("target_modules is not filled in; resolve the config against a model");
        }
        return TargetMatcher.builder().setTargetModules(b.targetModules).optExcludeModules(b.excludeModules)
                .optLayersToTransform(b.layersToTransform).optLayersPattern(b.layersPattern).build();
    }

    @Override
    public Ia3Config withInferenceMode(boolean inferenceMode) {
        return toBuilder().optInferenceMode(inferenceMode).build();
    }

    @Override
    public Ia3Config withModulesToSave(List<String> modules) {
        return toBuilder().optModulesToSave(modules).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Ia3Config c && Ia3ConfigJson.toMap(this).equals(Ia3ConfigJson.toMap(c));
    }

    @Override
    public int hashCode() {
        return Ia3ConfigJson.toMap(this).hashCode();
    }

    @Override
    public String toString() {
        return "Ia3Config" + Ia3ConfigJson.toMap(this);
    }

    /** Builds an {@link Ia3Config}; everything is optional, with PEFT's defaults. */
    public static final class Builder {

        private TargetModules targetModules;
        private FeedforwardModules feedforwardModules;
        private TargetModules excludeModules;
        private boolean fanInFanOut;
        private List<String> modulesToSave;
        private boolean initIa3Weights = true;
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private String taskType;
        private String baseModelNameOrPath;
        private String revision;
        private boolean inferenceMode;

        private Builder() {}

        private Builder copy() {
            Builder c = new Builder();
            c.targetModules = targetModules;
            c.feedforwardModules = feedforwardModules;
            c.excludeModules = excludeModules;
            c.fanInFanOut = fanInFanOut;
            c.modulesToSave = modulesToSave;
            c.initIa3Weights = initIa3Weights;
            c.layersToTransform = layersToTransform;
            c.layersPattern = layersPattern;
            c.taskType = taskType;
            c.baseModelNameOrPath = baseModelNameOrPath;
            c.revision = revision;
            c.inferenceMode = inferenceMode;
            return c;
        }

        /**
         * @param targets {@code target_modules}: names, a regex or {@code "all-linear"}; null for the default
         * @return this
         */
        public Builder setTargetModules(TargetModules targets) {
            this.targetModules = targets;
            return this;
        }

        /**
         * @param names {@code target_modules} as a list of names
         * @return this
         */
        public Builder setTargetModules(String... names) {
            return setTargetModules(TargetModules.of(names));
        }

        /**
         * @param ff {@code feedforward_modules}; null for the default
         * @return this
         */
        public Builder setFeedforwardModules(FeedforwardModules ff) {
            this.feedforwardModules = ff;
            return this;
        }

        /**
         * @param names {@code feedforward_modules} as a list of names (possibly none)
         * @return this
         */
        public Builder setFeedforwardModules(String... names) {
            return setFeedforwardModules(FeedforwardModules.of(names));
        }

        /**
         * @param exclude {@code exclude_modules}, or null
         * @return this
         */
        public Builder optExcludeModules(TargetModules exclude) {
            this.excludeModules = exclude;
            return this;
        }

        /**
         * @param fanInFanOut {@code fan_in_fan_out}
         * @return this
         */
        public Builder optFanInFanOut(boolean fanInFanOut) {
            this.fanInFanOut = fanInFanOut;
            return this;
        }

        /**
         * @param modules {@code modules_to_save}, or null
         * @return this
         */
        public Builder optModulesToSave(List<String> modules) {
            this.modulesToSave = modules == null ? null : List.copyOf(modules);
            return this;
        }

        /**
         * @param init {@code init_ia3_weights}
         * @return this
         */
        public Builder optInitIa3Weights(boolean init) {
            this.initIa3Weights = init;
            return this;
        }

        /**
         * @param layers {@code layers_to_transform} (peft4j extension), or null
         * @return this
         */
        public Builder optLayersToTransform(List<Integer> layers) {
            this.layersToTransform = layers == null ? null : List.copyOf(layers);
            return this;
        }

        /**
         * @param patterns {@code layers_pattern} (peft4j extension), or null
         * @return this
         */
        public Builder optLayersPattern(List<String> patterns) {
            this.layersPattern = patterns == null ? null : List.copyOf(patterns);
            return this;
        }

        /**
         * @param taskType {@code task_type}, one of {@link #TASK_TYPES}, or null
         * @return this
         */
        public Builder optTaskType(String taskType) {
            this.taskType = taskType;
            return this;
        }

        /**
         * @param name {@code base_model_name_or_path}, or null
         * @return this
         */
        public Builder optBaseModelNameOrPath(String name) {
            this.baseModelNameOrPath = name;
            return this;
        }

        /**
         * @param revision {@code revision}, or null
         * @return this
         */
        public Builder optRevision(String revision) {
            this.revision = revision;
            return this;
        }

        /**
         * @param inferenceMode {@code inference_mode}
         * @return this
         */
        public Builder optInferenceMode(boolean inferenceMode) {
            this.inferenceMode = inferenceMode;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the PEFT field of an invalid value
         */
        public Ia3Config build() {
            if (taskType != null && !TASK_TYPES.contains(taskType)) {
                throw new IllegalArgumentException("task_type must be one of " + new TreeSet<>(TASK_TYPES)
                        + ", got '" + taskType + "'");
            }
            if (targetModules != null && feedforwardModules != null && targetModules.isList()
                    && feedforwardModules.isList()
                    && !new HashSet<>(targetModules.names()).containsAll(feedforwardModules.names())) {
                TreeSet<String> extra = new TreeSet<>(feedforwardModules.names());
                extra.removeAll(targetModules.names());
                throw new IllegalArgumentException("feedforward_modules should be a subset of target_modules: "
                        + extra + " not in " + targetModules);
            }
            if (modulesToSave != null && modulesToSave.stream().anyMatch(m -> m == null || m.isBlank())) {
                throw new IllegalArgumentException("modules_to_save has a blank name: " + modulesToSave);
            }
            if (layersToTransform != null && layersToTransform.stream().anyMatch(i -> i == null || i < 0)) {
                throw new IllegalArgumentException("layers_to_transform has an invalid index: " + layersToTransform);
            }
            if (targetModules != null) {
                TargetMatcher.builder().setTargetModules(targetModules).optExcludeModules(excludeModules)
                        .optLayersToTransform(layersToTransform).optLayersPattern(layersPattern).build();
            } else if (excludeModules != null && excludeModules.isAllLinear()) {
                throw new IllegalArgumentException("exclude_modules cannot be \"all-linear\"");
            }
            return new Ia3Config(this);
        }
    }
}
