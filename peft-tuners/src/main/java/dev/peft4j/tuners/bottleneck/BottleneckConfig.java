package dev.peft4j.tuners.bottleneck;

import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.core.peft.PeftConfig;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * A bottleneck adapter's configuration with AdapterHub's {@code BnConfig} names and semantics
 * ({@code adapters} 1.2): presets {@link #seqBn()} (Pfeiffer), {@link #doubleSeqBn()} (Houlsby)
 * and {@link #parBn()}, and the fields of {@code adapter_config.json} around it ({@code name},
 * {@code hidden_size}, {@code model_class}, …). Immutable.
 *
 * <p>At each site ({@code mh_adapter}: after self-attention, {@code output_adapter}: after the
 * feed-forward block) the adapter computes {@code f(x) = dropout(scaling · (W_up · act(W_down · x
 * + b_down) + b_up))} of width {@code m = hidden_size // reduction_factor}; {@link
 * BottleneckAdapter} places it against the residual as AdapterHub does.
 *
 * <pre>{@code
 * BottleneckConfig pfeiffer = BottleneckConfig.seqBn().build();
 * BottleneckConfig houlsby = BottleneckConfig.doubleSeqBn().optReductionFactor(8).build();
 * }</pre>
 */
public final class BottleneckConfig implements PeftConfig {

    /** The {@code peft_type} under which peft4j registers the method (AdapterHub's files have none). */
    public static final String PEFT_TYPE = "BOTTLENECK";

    /** The {@code version} written into {@code adapter_config.json}. */
    public static final String ADAPTERS_VERSION = "adapters.1.2.0";

    /** The values of {@code init_weights}. */
    public static final Set<String> INIT_WEIGHTS = Set.of("bert", "houlsby", "mam_adapter");

    private final boolean mhAdapter;
    private final boolean outputAdapter;
    private final Number reductionFactor;
    private final Map<String, Number> reductionFactorPerLayer;
    private final String nonLinearity;
    private final boolean originalLnBefore;
    private final boolean originalLnAfter;
    private final ResidualBeforeLn residualBeforeLn;
    private final boolean adapterResidualBeforeLn;
    private final boolean lnBefore;
    private final boolean lnAfter;
    private final String initWeights;
    private final Integer initWeightsSeed;
    private final boolean isParallel;
    private final double scaling;
    private final boolean useGating;
    private final List<Integer> leaveOut;
    private final double dropout;
    private final Map<String, JsonNode> otherFields;
    private final String name;
    private final Integer hiddenSize;
    private final String modelClass;
    private final String modelName;
    private final String modelType;
    private final String version;
    private final String taskType;
    private final List<String> modulesToSave;
    private final boolean inferenceMode;

    private BottleneckConfig(Builder b) {
        mhAdapter = b.mhAdapter;
        outputAdapter = b.outputAdapter;
        reductionFactor = b.reductionFactor;
        reductionFactorPerLayer = Collections.unmodifiableMap(new LinkedHashMap<>(b.reductionFactorPerLayer));
        nonLinearity = b.nonLinearity;
        originalLnBefore = b.originalLnBefore;
        originalLnAfter = b.originalLnAfter;
        residualBeforeLn = b.residualBeforeLn;
        adapterResidualBeforeLn = b.adapterResidualBeforeLn;
        lnBefore = b.lnBefore;
        lnAfter = b.lnAfter;
        initWeights = b.initWeights;
        initWeightsSeed = b.initWeightsSeed;
        isParallel = b.isParallel;
        scaling = b.scaling;
        useGating = b.useGating;
        leaveOut = List.copyOf(b.leaveOut);
        dropout = b.dropout;
        otherFields = Collections.unmodifiableMap(new TreeMap<>(b.otherFields));
        name = b.name;
        hiddenSize = b.hiddenSize;
        modelClass = b.modelClass;
        modelName = b.modelName;
        modelType = b.modelType;
        version = b.version;
        taskType = b.taskType;
        modulesToSave = b.modulesToSave == null ? null : List.copyOf(b.modulesToSave);
        inferenceMode = b.inferenceMode;
    }

    /** @return AdapterHub's {@code SeqBnConfig} (Pfeiffer): output adapter, ReLU, reduction 16, original LN before */
    public static Builder seqBn() {
        return new Builder();
    }

    /** @return AdapterHub's {@code DoubleSeqBnConfig} (Houlsby): attention and output adapters, swish, reduction 16 */
    public static Builder doubleSeqBn() {
        return new Builder().optMhAdapter(true).optNonLinearity("swish").optOriginalLnBefore(false);
    }

    /** @return AdapterHub's {@code ParBnConfig}: parallel output adapter, ReLU, reduction 2, mam_adapter init, scaling 4 */
    public static Builder parBn() {
        return new Builder().optReductionFactor(2).optOriginalLnBefore(false).optInitWeights("mam_adapter")
                .optIsParallel(true).optScaling(4.0);
    }

    /** @return a builder holding this configuration's values */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.mhAdapter = mhAdapter;
        b.outputAdapter = outputAdapter;
        b.reductionFactor = reductionFactor;
        b.reductionFactorPerLayer = new LinkedHashMap<>(reductionFactorPerLayer);
        b.nonLinearity = nonLinearity;
        b.originalLnBefore = originalLnBefore;
        b.originalLnAfter = originalLnAfter;
        b.residualBeforeLn = residualBeforeLn;
        b.adapterResidualBeforeLn = adapterResidualBeforeLn;
        b.lnBefore = lnBefore;
        b.lnAfter = lnAfter;
        b.initWeights = initWeights;
        b.initWeightsSeed = initWeightsSeed;
        b.isParallel = isParallel;
        b.scaling = scaling;
        b.useGating = useGating;
        b.leaveOut = leaveOut;
        b.dropout = dropout;
        b.otherFields = new TreeMap<>(otherFields);
        b.name = name;
        b.hiddenSize = hiddenSize;
        b.modelClass = modelClass;
        b.modelName = modelName;
        b.modelType = modelType;
        b.version = version;
        b.taskType = taskType;
        b.modulesToSave = modulesToSave;
        b.inferenceMode = inferenceMode;
        return b;
    }

    /** @return {@code mh_adapter}: an adapter after self-attention */
    public boolean mhAdapter() {
        return mhAdapter;
    }

    /** @return {@code output_adapter}: an adapter after the feed-forward block */
    public boolean outputAdapter() {
        return outputAdapter;
    }

    /** @return {@code reduction_factor} (its {@code default} when given per layer), an Integer or a Double */
    public Number reductionFactor() {
        return reductionFactor;
    }

    /** @return the per-layer {@code reduction_factor} entries (layer index as a string), empty when one number */
    public Map<String, Number> reductionFactorPerLayer() {
        return reductionFactorPerLayer;
    }

    /**
     * @param layer a layer index
     * @return its reduction factor: the layer's entry, else the default
     */
    public double reductionFactorFor(int layer) {
        Number n = reductionFactorPerLayer.get(Integer.toString(layer));
        if (n == null && reductionFactor == null) {
            throw new IllegalArgumentException("reduction_factor gives no value for layer " + layer
                    + " and no \"default\" (e.g. {\"1\": 16, \"default\": 16})");
        }
        return (n == null ? reductionFactor : n).doubleValue();
    }

    /**
     * AdapterHub's bottleneck width: {@code int(hidden_size // reduction_factor)}, at least 1.
     *
     * @param hidden the model's hidden size
     * @param layer a layer index
     * @return the width
     */
    public int bottleneckSize(int hidden, int layer) {
        return (int) Math.max(1, Math.floor(hidden / reductionFactorFor(layer)));
    }

    /** @return {@code non_linearity} */
    public String nonLinearity() {
        return nonLinearity;
    }

    /** @return {@code original_ln_before}: the adapter reads {@code LN(h + r)} */
    public boolean originalLnBefore() {
        return originalLnBefore;
    }

    /** @return {@code original_ln_after}: the block ends in {@code LN(out + r)} */
    public boolean originalLnAfter() {
        return originalLnAfter;
    }

    /** @return {@code residual_before_ln} */
    public ResidualBeforeLn residualBeforeLn() {
        return residualBeforeLn;
    }

    /** @return {@code adapter_residual_before_ln}: the adapter residual is added before {@code adapter_norm_after} */
    public boolean adapterResidualBeforeLn() {
        return adapterResidualBeforeLn;
    }

    /** @return {@code ln_before}: a trained LayerNorm on the adapter's input */
    public boolean lnBefore() {
        return lnBefore;
    }

    /** @return {@code ln_after}: a trained LayerNorm on the adapter's output */
    public boolean lnAfter() {
        return lnAfter;
    }

    /** @return {@code init_weights}: {@code bert}, {@code houlsby} or {@code mam_adapter} */
    public String initWeights() {
        return initWeights;
    }

    /** @return {@code init_weights_seed}, or null (then the model's seed) */
    public Integer initWeightsSeed() {
        return initWeightsSeed;
    }

    /** @return {@code is_parallel}: the adapter reads the block's input and is added to the sublayer output */
    public boolean isParallel() {
        return isParallel;
    }

    /** @return {@code scaling} of the adapter's output */
    public double scaling() {
        return scaling;
    }

    /** @return {@code use_gating}: a learned sigmoid gate, averaged over the sequence */
    public boolean useGating() {
        return useGating;
    }

    /** @return {@code leave_out}: layer indices without adapters */
    public List<Integer> leaveOut() {
        return leaveOut;
    }

    /** @return {@code dropout} on the adapter's output */
    public double dropout() {
        return dropout;
    }

    /**
     * @return the other fields of AdapterHub's {@code config} object ({@code phm_*}, {@code
     *     inv_adapter}, …), kept as read so they are written back unchanged; empty means
     *     AdapterHub's defaults
     */
    public Map<String, JsonNode> otherFields() {
        return otherFields;
    }

    /** @return the adapter's AdapterHub {@code name} (part of every saved key), or null for the PeftModel's name */
    public String name() {
        return name;
    }

    /** @return {@code hidden_size} the adapter was made for, or null when unknown */
    public Integer hiddenSize() {
        return hiddenSize;
    }

    /** @return {@code model_class}, e.g. {@code BertModel}, or null */
    public String modelClass() {
        return modelClass;
    }

    /** @return {@code model_name}, e.g. {@code sentence-transformers/all-MiniLM-L6-v2}, or null */
    public String modelName() {
        return modelName;
    }

    /** @return {@code model_type}, e.g. {@code bert}, or null */
    public String modelType() {
        return modelType;
    }

    /** @return {@code version}, e.g. {@value #ADAPTERS_VERSION} */
    public String version() {
        return version;
    }

    @Override
    public String peftType() {
        return PEFT_TYPE;
    }

    /** peft4j's extension: {@code SEQ_CLS} makes the model train and save its classifier. */
    @Override
    public String taskType() {
        return taskType;
    }

    @Override
    public List<String> modulesToSave() {
        return modulesToSave;
    }

    @Override
    public boolean inferenceMode() {
        return inferenceMode;
    }

    /** @return {@code model_name} */
    @Override
    public String baseModelNameOrPath() {
        return modelName;
    }

    @Override
    public BottleneckConfig withInferenceMode(boolean inferenceMode) {
        return toBuilder().optInferenceMode(inferenceMode).build();
    }

    @Override
    public BottleneckConfig withModulesToSave(List<String> modules) {
        return toBuilder().optModulesToSave(modules).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BottleneckConfig c && BottleneckConfigJson.toJson(this).equals(BottleneckConfigJson.toJson(c))
                && Objects.equals(taskType, c.taskType) && Objects.equals(modulesToSave, c.modulesToSave)
                && inferenceMode == c.inferenceMode;
    }

    @Override
    public int hashCode() {
        return BottleneckConfigJson.toJson(this).hashCode();
    }

    @Override
    public String toString() {
        return "BottleneckConfig(" + (isParallel ? "parallel" : mhAdapter ? "double_seq_bn" : "seq_bn")
                + ", reduction_factor=" + reductionFactor + (reductionFactorPerLayer.isEmpty() ? ""
                : " " + reductionFactorPerLayer) + ", non_linearity=" + nonLinearity + ", name=" + name + ")";
    }

    /** Builds a {@link BottleneckConfig}; starts from {@code SeqBnConfig}'s values. */
    public static final class Builder {

        private boolean mhAdapter;
        private boolean outputAdapter = true;
        private Number reductionFactor = 16;
        private Map<String, Number> reductionFactorPerLayer = new LinkedHashMap<>();
        private String nonLinearity = "relu";
        private boolean originalLnBefore = true;
        private boolean originalLnAfter = true;
        private ResidualBeforeLn residualBeforeLn = ResidualBeforeLn.TRUE;
        private boolean adapterResidualBeforeLn;
        private boolean lnBefore;
        private boolean lnAfter;
        private String initWeights = "bert";
        private Integer initWeightsSeed;
        private boolean isParallel;
        private double scaling = 1.0;
        private boolean useGating;
        private List<Integer> leaveOut = List.of();
        private double dropout;
        private Map<String, JsonNode> otherFields = new TreeMap<>();
        private String name;
        private Integer hiddenSize;
        private String modelClass;
        private String modelName;
        private String modelType;
        private String version = ADAPTERS_VERSION;
        private String taskType;
        private List<String> modulesToSave;
        private boolean inferenceMode;

        private Builder() {}

        /** @param v {@code mh_adapter} @return this */
        public Builder optMhAdapter(boolean v) {
            mhAdapter = v;
            return this;
        }

        /** @param v {@code output_adapter} @return this */
        public Builder optOutputAdapter(boolean v) {
            outputAdapter = v;
            return this;
        }

        /** @param v {@code reduction_factor} for every layer (an Integer or a Double) @return this */
        public Builder optReductionFactor(Number v) {
            reductionFactor = Objects.requireNonNull(v, "reduction_factor");
            reductionFactorPerLayer = new LinkedHashMap<>();
            return this;
        }

        /**
         * @param perLayer {@code reduction_factor} per layer index (as a string)
         * @param defaultValue the value of other layers ({@code "default"}), or null when every layer is listed
         * @return this
         */
        public Builder optReductionFactor(Map<String, ? extends Number> perLayer, Number defaultValue) {
            reductionFactorPerLayer = new LinkedHashMap<>(perLayer);
            reductionFactor = defaultValue;
            return this;
        }

        /** @param v {@code non_linearity}, e.g. {@code relu}, {@code swish} @return this */
        public Builder optNonLinearity(String v) {
            nonLinearity = v;
            return this;
        }

        /** @param v {@code original_ln_before} @return this */
        public Builder optOriginalLnBefore(boolean v) {
            originalLnBefore = v;
            return this;
        }

        /** @param v {@code original_ln_after} @return this */
        public Builder optOriginalLnAfter(boolean v) {
            originalLnAfter = v;
            return this;
        }

        /** @param v {@code residual_before_ln} @return this */
        public Builder optResidualBeforeLn(ResidualBeforeLn v) {
            residualBeforeLn = Objects.requireNonNull(v, "residual_before_ln");
            return this;
        }

        /** @param v {@code adapter_residual_before_ln} @return this */
        public Builder optAdapterResidualBeforeLn(boolean v) {
            adapterResidualBeforeLn = v;
            return this;
        }

        /** @param v {@code ln_before} @return this */
        public Builder optLnBefore(boolean v) {
            lnBefore = v;
            return this;
        }

        /** @param v {@code ln_after} @return this */
        public Builder optLnAfter(boolean v) {
            lnAfter = v;
            return this;
        }

        /** @param v {@code init_weights}: {@code bert}, {@code houlsby} or {@code mam_adapter} @return this */
        public Builder optInitWeights(String v) {
            initWeights = v;
            return this;
        }

        /** @param v {@code init_weights_seed}, or null @return this */
        public Builder optInitWeightsSeed(Integer v) {
            initWeightsSeed = v;
            return this;
        }

        /** @param v {@code is_parallel} @return this */
        public Builder optIsParallel(boolean v) {
            isParallel = v;
            return this;
        }

        /** @param v {@code scaling} @return this */
        public Builder optScaling(double v) {
            scaling = v;
            return this;
        }

        /** @param v {@code use_gating} @return this */
        public Builder optUseGating(boolean v) {
            useGating = v;
            return this;
        }

        /** @param v {@code leave_out} layer indices @return this */
        public Builder optLeaveOut(List<Integer> v) {
            leaveOut = List.copyOf(v);
            return this;
        }

        /** @param v {@code dropout} @return this */
        public Builder optDropout(double v) {
            dropout = v;
            return this;
        }

        /** @param v other AdapterHub {@code config} fields kept as read ({@code phm_*}, …) @return this */
        public Builder optOtherFields(Map<String, JsonNode> v) {
            otherFields = new TreeMap<>(v);
            return this;
        }

        /** @param v the AdapterHub adapter {@code name} used in the saved keys, or null for the PeftModel's name @return this */
        public Builder optName(String v) {
            name = v;
            return this;
        }

        /** @param v {@code hidden_size}, or null @return this */
        public Builder optHiddenSize(Integer v) {
            hiddenSize = v;
            return this;
        }

        /** @param v {@code model_class}, or null @return this */
        public Builder optModelClass(String v) {
            modelClass = v;
            return this;
        }

        /** @param v {@code model_name}, or null @return this */
        public Builder optModelName(String v) {
            modelName = v;
            return this;
        }

        /** @param v {@code model_type}, or null @return this */
        public Builder optModelType(String v) {
            modelType = v;
            return this;
        }

        /** @param v {@code version} @return this */
        public Builder optVersion(String v) {
            version = v;
            return this;
        }

        /** @param v {@code task_type} (peft4j's; {@code SEQ_CLS} trains and saves the classifier) @return this */
        public Builder optTaskType(String v) {
            taskType = v;
            return this;
        }

        /** @param v modules trained and saved whole (peft4j's), or null @return this */
        public Builder optModulesToSave(List<String> v) {
            modulesToSave = v == null ? null : List.copyOf(v);
            return this;
        }

        /** @param v whether the adapter is frozen @return this */
        public Builder optInferenceMode(boolean v) {
            inferenceMode = v;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException naming the field of an invalid or unsupported value
         */
        public BottleneckConfig build() {
            if (!mhAdapter && !outputAdapter) {
                throw new IllegalArgumentException("mh_adapter and output_adapter are both false: the adapter would"
                        + " sit nowhere");
            }
            if (reductionFactor == null && reductionFactorPerLayer.isEmpty()) {
                throw new IllegalArgumentException("reduction_factor is missing");
            }
            checkFactor("reduction_factor", reductionFactor);
            reductionFactorPerLayer.forEach((k, v) -> {
                if (!k.matches("\\d+")) {
                    throw new IllegalArgumentException("reduction_factor: key \"" + k
                            + "\" is neither a layer index nor \"default\"");
                }
                checkFactor("reduction_factor[\"" + k + "\"]", Objects.requireNonNull(v, "reduction_factor"));
            });
            NonLinearity.of(nonLinearity);
            if (!INIT_WEIGHTS.contains(initWeights)) {
                throw new IllegalArgumentException("init_weights \"" + initWeights + "\" is not one of "
                        + new java.util.TreeSet<>(INIT_WEIGHTS));
            }
            if (!Double.isFinite(scaling)) {
                throw new IllegalArgumentException("scaling must be a finite number, got " + scaling);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
            }
            for (Integer l : leaveOut) {
                if (l == null || l < 0) {
                    throw new IllegalArgumentException("leave_out holds an invalid layer index " + l);
                }
            }
            if (hiddenSize != null && hiddenSize <= 0) {
                throw new IllegalArgumentException("hidden_size must be positive, got " + hiddenSize);
            }
            if (name != null && !name.matches("[A-Za-z0-9_\\-]+")) {
                throw new IllegalArgumentException("name \"" + name + "\" must be letters, digits, _ or -");
            }
            BottleneckConfigJson.checkSupported(otherFields);
            return new BottleneckConfig(this);
        }

        private static void checkFactor(String field, Number v) {
            if (v != null && !(v.doubleValue() > 0 && Double.isFinite(v.doubleValue()))) {
                throw new IllegalArgumentException(field + " must be a positive number, got " + v);
            }
        }
    }
}
