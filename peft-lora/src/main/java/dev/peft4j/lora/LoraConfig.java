package dev.peft4j.lora;

import dev.peft4j.core.adapter.TargetMatcher;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.peft.PeftConfig;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A LoRA adapter's configuration with Hugging Face PEFT's fields, defaults and meaning; the
 * accessors are PEFT's names in camelCase and {@link LoraConfigJson} reads and writes PEFT's
 * {@code adapter_config.json} with the snake_case names.
 *
 * <pre>{@code
 * LoraConfig cfg = LoraConfig.builder()
 *         .setTargetModules(TargetModules.of("query", "value"))
 *         .optR(8).optLoraAlpha(16).optLoraDropout(0.1)
 *         .build();
 * }</pre>
 *
 * <p>Scaling is {@code lora_alpha / r}, or {@code lora_alpha / sqrt(r)} with {@code use_rslora};
 * {@code rank_pattern} and {@code alpha_pattern} override r and alpha for modules whose path
 * matches {@code (.*\.)?(key)} (the first matching key, in insertion order, wins).
 */
public final class LoraConfig implements PeftConfig {

    /** PEFT's {@code peft_type} of LoRA (DoRA and rsLoRA included). */
    public static final String PEFT_TYPE = "LORA";

    /** PEFT's task types ({@code task_type}). */
    public static final Set<String> TASK_TYPES = Set.of(
            "SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION");

    private final int r;
    private final double loraAlpha;
    private final double loraDropout;
    private final TargetModules targetModules;
    private final TargetModules excludeModules;
    private final List<Integer> layersToTransform;
    private final List<String> layersPattern;
    private final LoraBias bias;
    private final List<String> modulesToSave;
    private final LoraInit initLoraWeights;
    private final boolean useRslora;
    private final boolean useDora;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Double> alphaPattern;
    private final boolean fanInFanOut;
    private final String taskType;
    private final String baseModelNameOrPath;
    private final boolean inferenceMode;
    private final Map<Pattern, Integer> rankRegex = new LinkedHashMap<>();
    private final Map<Pattern, Double> alphaRegex = new LinkedHashMap<>();

    private LoraConfig(Builder b) {
        r = b.r;
        loraAlpha = b.loraAlpha;
        loraDropout = b.loraDropout;
        targetModules = b.targetModules;
        excludeModules = b.excludeModules;
        layersToTransform = b.layersToTransform;
        layersPattern = b.layersPattern;
        bias = b.bias;
        modulesToSave = b.modulesToSave;
        initLoraWeights = b.initLoraWeights;
        useRslora = b.useRslora;
        useDora = b.useDora;
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.rankPattern));
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(b.alphaPattern));
        fanInFanOut = b.fanInFanOut;
        taskType = b.taskType;
        baseModelNameOrPath = b.baseModelNameOrPath;
        inferenceMode = b.inferenceMode;
        rankPattern.forEach((k, v) -> rankRegex.put(patternKey("rank_pattern", k), v));
        alphaPattern.forEach((k, v) -> alphaRegex.put(patternKey("alpha_pattern", k), v));
    }

    private static Pattern patternKey(String field, String key) {
        try {
            return Pattern.compile("(.*\\.)?(" + key + ")");
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(field + " key '" + key + "' is not a valid regular expression: "
                    + e.getDescription(), e);
        }
    }

    /** @return a builder with PEFT's defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this configuration's values */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.r = r;
        b.loraAlpha = loraAlpha;
        b.loraDropout = loraDropout;
        b.targetModules = targetModules;
        b.excludeModules = excludeModules;
        b.layersToTransform = layersToTransform;
        b.layersPattern = layersPattern;
        b.bias = bias;
        b.modulesToSave = modulesToSave;
        b.initLoraWeights = initLoraWeights;
        b.useRslora = useRslora;
        b.useDora = useDora;
        b.rankPattern = new LinkedHashMap<>(rankPattern);
        b.alphaPattern = new LinkedHashMap<>(alphaPattern);
        b.fanInFanOut = fanInFanOut;
        b.taskType = taskType;
        b.baseModelNameOrPath = baseModelNameOrPath;
        b.inferenceMode = inferenceMode;
        return b;
    }

    /** @return {@code r}, the rank (default 8) */
    public int r() {
        return r;
    }

    /** @return {@code lora_alpha} (default 8) */
    public double loraAlpha() {
        return loraAlpha;
    }

    /** @return {@code lora_dropout}, applied to the adapter's input in training only (default 0) */
    public double loraDropout() {
        return loraDropout;
    }

    /** @return {@code target_modules} */
    public TargetModules targetModules() {
        return targetModules;
    }

    /** @return {@code exclude_modules}, or null */
    public TargetModules excludeModules() {
        return excludeModules;
    }

    /** @return {@code layers_to_transform}, or null for every layer */
    public List<Integer> layersToTransform() {
        return layersToTransform;
    }

    /** @return {@code layers_pattern}, or null */
    public List<String> layersPattern() {
        return layersPattern;
    }

    /** @return {@code bias} (default {@link LoraBias#NONE}) */
    public LoraBias bias() {
        return bias;
    }

    /** @return {@code modules_to_save}, or null */
    public List<String> modulesToSave() {
        return modulesToSave;
    }

    /** @return {@code init_lora_weights} (default {@code true}) */
    public LoraInit initLoraWeights() {
        return initLoraWeights;
    }

    /** @return {@code use_rslora}: scaling alpha/sqrt(r) instead of alpha/r */
    public boolean useRslora() {
        return useRslora;
    }

    /** @return {@code use_dora}: weight-decomposed LoRA */
    public boolean useDora() {
        return useDora;
    }

    /** @return {@code rank_pattern}: module-path regex → rank */
    public Map<String, Integer> rankPattern() {
        return rankPattern;
    }

    /** @return {@code alpha_pattern}: module-path regex → alpha */
    public Map<String, Double> alphaPattern() {
        return alphaPattern;
    }

    /**
     * @return {@code fan_in_fan_out}; every peft4j linear layer stores {@code [out, in]}, so as PEFT
     *     does for {@code nn.Linear} this is ignored with a warning
     */
    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** @return {@code task_type}, or null */
    public String taskType() {
        return taskType;
    }

    /** @return {@code base_model_name_or_path}, or null */
    public String baseModelNameOrPath() {
        return baseModelNameOrPath;
    }

    /** @return {@code inference_mode}: the adapter is frozen */
    public boolean inferenceMode() {
        return inferenceMode;
    }

    /**
     * @param path a module path
     * @return the rank for that module ({@code rank_pattern} or {@code r})
     */
    public int rankFor(String path) {
        for (Map.Entry<Pattern, Integer> e : rankRegex.entrySet()) {
            if (e.getKey().matcher(path).matches()) {
                return e.getValue();
            }
        }
        return r;
    }

    /**
     * @param path a module path
     * @return the alpha for that module ({@code alpha_pattern} or {@code lora_alpha})
     */
    public double alphaFor(String path) {
        for (Map.Entry<Pattern, Double> e : alphaRegex.entrySet()) {
            if (e.getKey().matcher(path).matches()) {
                return e.getValue();
            }
        }
        return loraAlpha;
    }

    /**
     * @param path a module path
     * @return {@code alpha/r}, or {@code alpha/sqrt(r)} with rsLoRA, for that module
     */
    public double scalingFor(String path) {
        int rank = rankFor(path);
        double alpha = alphaFor(path);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** @return the target matcher for these targets, exclusions and layers */
    public TargetMatcher matcher() {
        return TargetMatcher.builder()
                .setTargetModules(targetModules)
                .optExcludeModules(excludeModules)
                .optLayersToTransform(layersToTransform)
                .optLayersPattern(layersPattern)
                .build();
    }

    /** @return {@value #PEFT_TYPE} */
    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    @Override
    public LoraConfig withInferenceMode(boolean inferenceMode) {
        return toBuilder().optInferenceMode(inferenceMode).build();
    }

    @Override
    public LoraConfig withModulesToSave(List<String> modules) {
        return toBuilder().optModulesToSave(modules).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoraConfig c && LoraConfigJson.toMap(this).equals(LoraConfigJson.toMap(c));
    }

    @Override
    public int hashCode() {
        return LoraConfigJson.toMap(this).hashCode();
    }

    @Override
    public String toString() {
        return "LoraConfig" + LoraConfigJson.toMap(this);
    }

    /** Builds a {@link LoraConfig}; {@link #setTargetModules} is required, the rest has PEFT's defaults. */
    public static final class Builder {

        private int r = 8;
        private double loraAlpha = 8;
        private double loraDropout;
        private TargetModules targetModules;
        private TargetModules excludeModules;
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private LoraBias bias = LoraBias.NONE;
        private List<String> modulesToSave;
        private LoraInit initLoraWeights = LoraInit.DEFAULT;
        private boolean useRslora;
        private boolean useDora;
        private Map<String, Integer> rankPattern = new LinkedHashMap<>();
        private Map<String, Double> alphaPattern = new LinkedHashMap<>();
        private boolean fanInFanOut;
        private String taskType;
        private String baseModelNameOrPath;
        private boolean inferenceMode;

        private Builder() {}

        /**
         * @param targetModules {@code target_modules}: names, a regex or {@code "all-linear"}
         * @return this
         */
        public Builder setTargetModules(TargetModules targetModules) {
            this.targetModules = targetModules;
            return this;
        }

        /**
         * @param names {@code target_modules} as a list of names
         * @return this
         */
        public Builder setTargetModules(String... names) {
            Objects.requireNonNull(names, "names");
            return setTargetModules(TargetModules.of(names));
        }

        /**
         * @param r {@code r}, the rank, positive
         * @return this
         */
        public Builder optR(int r) {
            this.r = r;
            return this;
        }

        /**
         * @param loraAlpha {@code lora_alpha}
         * @return this
         */
        public Builder optLoraAlpha(double loraAlpha) {
            this.loraAlpha = loraAlpha;
            return this;
        }

        /**
         * @param loraDropout {@code lora_dropout}, in [0, 1)
         * @return this
         */
        public Builder optLoraDropout(double loraDropout) {
            this.loraDropout = loraDropout;
            return this;
        }

        /**
         * @param excludeModules {@code exclude_modules}, or null
         * @return this
         */
        public Builder optExcludeModules(TargetModules excludeModules) {
            this.excludeModules = excludeModules;
            return this;
        }

        /**
         * @param layers {@code layers_to_transform}, or null
         * @return this
         */
        public Builder optLayersToTransform(List<Integer> layers) {
            this.layersToTransform = layers == null ? null : List.copyOf(layers);
            return this;
        }

        /**
         * @param patterns {@code layers_pattern}, or null
         * @return this
         */
        public Builder optLayersPattern(List<String> patterns) {
            this.layersPattern = patterns == null ? null : List.copyOf(patterns);
            return this;
        }

        /**
         * @param bias {@code bias}
         * @return this
         */
        public Builder optBias(LoraBias bias) {
            this.bias = Objects.requireNonNull(bias, "bias");
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
         * @param init {@code init_lora_weights}
         * @return this
         */
        public Builder optInitLoraWeights(LoraInit init) {
            this.initLoraWeights = Objects.requireNonNull(init, "init_lora_weights");
            return this;
        }

        /**
         * @param useRslora {@code use_rslora}
         * @return this
         */
        public Builder optUseRslora(boolean useRslora) {
            this.useRslora = useRslora;
            return this;
        }

        /**
         * @param useDora {@code use_dora}
         * @return this
         */
        public Builder optUseDora(boolean useDora) {
            this.useDora = useDora;
            return this;
        }

        /**
         * @param rankPattern {@code rank_pattern}: regex → rank
         * @return this
         */
        public Builder optRankPattern(Map<String, Integer> rankPattern) {
            this.rankPattern = new LinkedHashMap<>(rankPattern == null ? Map.of() : rankPattern);
            return this;
        }

        /**
         * @param alphaPattern {@code alpha_pattern}: regex → alpha
         * @return this
         */
        public Builder optAlphaPattern(Map<String, Double> alphaPattern) {
            this.alphaPattern = new LinkedHashMap<>(alphaPattern == null ? Map.of() : alphaPattern);
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
         * @throws IllegalArgumentException naming the PEFT field of an invalid value
         */
        public LoraConfig build() {
            if (targetModules == null) {
                throw new IllegalArgumentException("target_modules is required (peft4j has no"
                        + " per-architecture default)");
            }
            if (r <= 0) {
                throw new IllegalArgumentException("r must be positive, got " + r);
            }
            if (!Double.isFinite(loraAlpha)) {
                throw new IllegalArgumentException("lora_alpha must be finite, got " + loraAlpha);
            }
            if (!(loraDropout >= 0 && loraDropout < 1)) {
                throw new IllegalArgumentException("lora_dropout must be in [0, 1), got " + loraDropout);
            }
            if (taskType != null && !TASK_TYPES.contains(taskType)) {
                throw new IllegalArgumentException("task_type must be one of " + new java.util.TreeSet<>(TASK_TYPES)
                        + ", got '" + taskType + "'");
            }
            for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
                if (e.getValue() == null || e.getValue() <= 0) {
                    throw new IllegalArgumentException("rank_pattern['" + e.getKey() + "'] must be positive, got "
                            + e.getValue());
                }
            }
            for (Map.Entry<String, Double> e : alphaPattern.entrySet()) {
                if (e.getValue() == null || !Double.isFinite(e.getValue())) {
                    throw new IllegalArgumentException("alpha_pattern['" + e.getKey() + "'] must be finite, got "
                            + e.getValue());
                }
            }
            if (layersToTransform != null) {
                for (Integer i : layersToTransform) {
                    if (i == null || i < 0) {
                        throw new IllegalArgumentException("layers_to_transform has an invalid index " + i);
                    }
                }
            }
            if (modulesToSave != null) {
                modulesToSave = new ArrayList<>(modulesToSave);
                for (String m : modulesToSave) {
                    if (m == null || m.isBlank()) {
                        throw new IllegalArgumentException("modules_to_save has a blank name: " + modulesToSave);
                    }
                }
                modulesToSave = List.copyOf(modulesToSave);
            }
            // Checks layers_pattern/layers_to_transform/exclude_modules combinations.
            TargetMatcher.builder()
                    .setTargetModules(targetModules)
                    .optExcludeModules(excludeModules)
                    .optLayersToTransform(layersToTransform)
                    .optLayersPattern(layersPattern)
                    .build();
            return new LoraConfig(this);
        }
    }
}
