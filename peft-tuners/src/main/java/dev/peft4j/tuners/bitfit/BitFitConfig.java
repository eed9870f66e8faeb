package dev.peft4j.tuners.bitfit;

import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.peft.PeftConfig;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A BitFit adapter's configuration ({@code peft_type} {@value #PEFT_TYPE}, a peft4j extension with
 * PEFT's field names): which modules' {@code bias} trains, and the usual PEFT fields.
 *
 * <pre>{@code
 * BitFitConfig all = BitFitConfig.builder().optTaskType("SEQ_CLS").build();   // every bias + the head
 * BitFitConfig paper = BitFitConfig.builder().setTargetModules(BitFitConfig.QUERY_AND_INTERMEDIATE).build();
 * }</pre>
 *
 * <p>{@code target_modules}: null (JSON {@code "all"}, the default) selects every parameter named
 * {@code bias} in the model, LayerNorm biases included, as the paper's code and PEFT's {@code
 * bias="all"}; a list selects the biases of modules whose path equals an entry or ends with {@code
 * "." + entry} (every entry must select at least one bias); a string is a regular expression on the
 * whole module path. {@code exclude_modules} removes modules the same way. Modules in {@code
 * modules_to_save} (and, for {@code SEQ_CLS}, {@code classifier}/{@code score}) train whole and are
 * left out of the bias selection.
 */
public final class BitFitConfig implements PeftConfig {

    /** The {@code peft_type} of BitFit (peft4j's; PEFT has none). */
    public static final String PEFT_TYPE = "BITFIT";

    /** The JSON value of {@code target_modules} selecting every bias. */
    public static final String ALL = "all";

    /**
     * The paper's subset for BERT: the query bias {@code b_q} and the intermediate ("middle of MLP")
     * bias {@code b_m2}, about half of the bias parameters.
     */
    public static final List<String> QUERY_AND_INTERMEDIATE = List.of("attention.self.query", "intermediate.dense");

    /** PEFT's task types ({@code task_type}). */
    public static final Set<String> TASK_TYPES = Set.of(
            "SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION");

    private final TargetModules targetModules;
    private final TargetModules excludeModules;
    private final List<String> modulesToSave;
    private final String taskType;
    private final String baseModelNameOrPath;
    private final boolean inferenceMode;

    private BitFitConfig(Builder b) {
        targetModules = b.targetModules;
        excludeModules = b.excludeModules;
        modulesToSave = b.modulesToSave;
        taskType = b.taskType;
        baseModelNameOrPath = b.baseModelNameOrPath;
        inferenceMode = b.inferenceMode;
    }

    /** @return a builder with the defaults (every bias) */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this configuration's values */
    public Builder toBuilder() {
        return new Builder().setTargetModules(targetModules).optExcludeModules(excludeModules)
                .optModulesToSave(modulesToSave).optTaskType(taskType).optBaseModelNameOrPath(baseModelNameOrPath)
                .optInferenceMode(inferenceMode);
    }

    /** @return {@code target_modules}: the modules whose bias trains, or null for every bias */
    public TargetModules targetModules() {
        return targetModules;
    }

    /** @return {@code exclude_modules}, or null */
    public TargetModules excludeModules() {
        return excludeModules;
    }

    @Override
    public List<String> modulesToSave() {
        return modulesToSave;
    }

    @Override
    public String taskType() {
        return taskType;
    }

    @Override
    public String baseModelNameOrPath() {
        return baseModelNameOrPath;
    }

    @Override
    public boolean inferenceMode() {
        return inferenceMode;
    }

    /** @return {@value #PEFT_TYPE} */
    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public BitFitConfig withInferenceMode(boolean inferenceMode) {
        return toBuilder().optInferenceMode(inferenceMode).build();
    }

    @Override
    public BitFitConfig withModulesToSave(List<String> modules) {
        return toBuilder().optModulesToSave(modules).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BitFitConfig c && BitFitConfigJson.toMap(this).equals(BitFitConfigJson.toMap(c));
    }

    @Override
    public int hashCode() {
        return BitFitConfigJson.toMap(this).hashCode();
    }

    @Override
    public String toString() {
        return "BitFitConfig" + BitFitConfigJson.toMap(this);
    }

    /** Builds a {@link BitFitConfig}; everything is optional. */
    public static final class Builder {

        private TargetModules targetModules;
        private TargetModules excludeModules;
        private List<String> modulesToSave;
        private String taskType;
        private String baseModelNameOrPath;
        private boolean inferenceMode;

        private Builder() {}

        /**
         * @param targets {@code target_modules}: module names or a regex; null for every bias
         * @return this
         */
        public Builder setTargetModules(TargetModules targets) {
            this.targetModules = targets;
            return this;
        }

        /**
         * @param names {@code target_modules} as module names or path suffixes
         * @return this
         */
        public Builder setTargetModules(List<String> names) {
            return setTargetModules(names == null ? null : TargetModules.of(names));
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
         * @param modules {@code modules_to_save} (the task head), or null
         * @return this
         */
        public Builder optModulesToSave(List<String> modules) {
            this.modulesToSave = modules == null ? null : List.copyOf(modules);
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
         * @param inferenceMode {@code inference_mode}
         * @return this
         */
        public Builder optInferenceMode(boolean inferenceMode) {
            this.inferenceMode = inferenceMode;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the field of an invalid value
         */
        public BitFitConfig build() {
            if (targetModules != null && targetModules.isAllLinear()) {
                throw new IllegalArgumentException("target_modules \"all-linear\" is not a BitFit selection; use"
                        + " \"all\" (null) for every bias or name the modules");
            }
            if (excludeModules != null && excludeModules.isAllLinear()) {
                throw new IllegalArgumentException("exclude_modules cannot be \"all-linear\"");
            }
            if (taskType != null && !TASK_TYPES.contains(taskType)) {
                throw new IllegalArgumentException("task_type must be one of " + new TreeSet<>(TASK_TYPES)
                        + ", got '" + taskType + "'");
            }
            if (modulesToSave != null && modulesToSave.stream().anyMatch(m -> m == null || m.isBlank())) {
                throw new IllegalArgumentException("modules_to_save has a blank name: " + modulesToSave);
            }
            return new BitFitConfig(this);
        }
    }
}
