package dev.peft4j.tuners.bottleneck;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * AdapterHub's {@code adapter_config.json} ({@code build_full_config}, written with {@code
 * json.dump(indent=2, sort_keys=True)}): {@code {"config": {<BnConfig fields>}, "hidden_size",
 * "model_class", "model_name", "model_type", "name", "version"}}. peft4j's {@code task_type} and
 * {@code modules_to_save} go in a top-level {@code "peft4j"} object only when set (AdapterHub
 * reads {@code config} and {@code name} and ignores other top-level keys, as its {@code meta_dict}).
 */
public final class BottleneckConfigJson {

    /** peft4j's top-level extension object (absent unless {@code task_type} or {@code modules_to_save} is set). */
    public static final String PEFT4J_KEY = "peft4j";

    /** AdapterHub's {@code BnConfig} defaults of the fields peft4j keeps as they are ({@link BottleneckConfig#otherFields()}). */
    static final Map<String, JsonNode> OTHER_DEFAULTS;

    static {
        Map<String, JsonNode> m = new TreeMap<>();
        m.put("cross_adapter", BooleanNode.FALSE);
        m.put("factorized_phm_W", BooleanNode.TRUE);
        m.put("factorized_phm_rule", BooleanNode.FALSE);
        m.put("hypercomplex_nonlinearity", TextNode.valueOf("glorot-uniform"));
        m.put("inv_adapter", NullNode.getInstance());
        m.put("inv_adapter_reduction_factor", NullNode.getInstance());
        m.put("learn_phm", BooleanNode.TRUE);
        m.put("phm_bias", BooleanNode.TRUE);
        m.put("phm_c_init", TextNode.valueOf("normal"));
        m.put("phm_dim", IntNode.valueOf(4));
        m.put("phm_init_range", DoubleNode.valueOf(0.0001));
        m.put("phm_layer", BooleanNode.FALSE);
        m.put("phm_rank", IntNode.valueOf(1));
        m.put("shared_W_phm", BooleanNode.FALSE);
        m.put("shared_phm_rule", BooleanNode.TRUE);
        m.put("stochastic_depth", DoubleNode.valueOf(0.0));
        OTHER_DEFAULTS = java.util.Collections.unmodifiableMap(m);
    }

    /** The {@code config} fields peft4j computes with. */
    static final Set<String> KNOWN = Set.of("mh_adapter", "output_adapter", "reduction_factor", "non_linearity",
            "original_ln_before", "original_ln_after", "residual_before_ln", "adapter_residual_before_ln",
            "ln_before", "ln_after", "init_weights", "init_weights_seed", "is_parallel", "scaling", "use_gating",
            "leave_out", "dropout", "architecture");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private BottleneckConfigJson() {}

    /**
     * @param c a configuration
     * @return the file's text, byte for byte as AdapterHub writes it for the same values
     */
    public static String toJson(BottleneckConfig c) {
        Map<String, Object> cfg = new TreeMap<>(OTHER_DEFAULTS);
        cfg.putAll(c.otherFields());
        cfg.put("mh_adapter", c.mhAdapter());
        cfg.put("output_adapter", c.outputAdapter());
        if (c.reductionFactorPerLayer().isEmpty()) {
            cfg.put("reduction_factor", c.reductionFactor());
        } else {
            Map<String, Object> rf = new TreeMap<>(c.reductionFactorPerLayer());
            if (c.reductionFactor() != null) {
                rf.put("default", c.reductionFactor());
            }
            cfg.put("reduction_factor", rf);
        }
        cfg.put("non_linearity", c.nonLinearity());
        cfg.put("original_ln_before", c.originalLnBefore());
        cfg.put("original_ln_after", c.originalLnAfter());
        cfg.put("residual_before_ln", c.residualBeforeLn().jsonValue());
        cfg.put("adapter_residual_before_ln", c.adapterResidualBeforeLn());
        cfg.put("ln_before", c.lnBefore());
        cfg.put("ln_after", c.lnAfter());
        cfg.put("init_weights", c.initWeights());
        cfg.put("init_weights_seed", c.initWeightsSeed());
        cfg.put("is_parallel", c.isParallel());
        cfg.put("scaling", c.scaling());
        cfg.put("use_gating", c.useGating());
        cfg.put("leave_out", c.leaveOut());
        cfg.put("dropout", c.dropout());
        Map<String, Object> root = new TreeMap<>();
        root.put("config", cfg);
        root.put("hidden_size", c.hiddenSize());
        root.put("model_class", c.modelClass());
        root.put("model_name", c.modelName());
        root.put("model_type", c.modelType());
        root.put("name", c.name());
        root.put("version", c.version());
        if (c.taskType() != null || c.modulesToSave() != null) {
            Map<String, Object> ext = new TreeMap<>();
            ext.put("task_type", c.taskType());
            ext.put("modules_to_save", c.modulesToSave());
            root.put(PEFT4J_KEY, ext);
        }
        return PythonJson.write(root);
    }

    /**
     * Writes {@code adapter_config.json} into {@code dir}.
     *
     * @param c the configuration
     * @param dir an existing directory
     * @throws IOException when writing fails
     */
    public static void write(BottleneckConfig c, Path dir) throws IOException {
        Files.writeString(dir.resolve(BottleneckMethod.CONFIG_FILE), toJson(c));
    }

    /**
     * @param root a parsed file
     * @return whether it is AdapterHub's format: an object with a {@code config} object and no {@code peft_type}
     */
    static boolean isAdapterHubConfig(JsonNode root) {
        return root != null && root.isObject() && !root.has("peft_type") && root.path("config").isObject();
    }

    /**
     * Reads an AdapterHub {@code adapter_config.json}.
     *
     * @param file the file
     * @return the configuration
     * @throws IOException when reading fails
     * @throws IllegalArgumentException naming the file and the field for an invalid, unsupported
     *     or non-bottleneck configuration
     */
    public static BottleneckConfig read(Path file) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!isAdapterHubConfig(root)) {
            throw new IllegalArgumentException(file + ": not an AdapterHub adapter config (an object with a"
                    + " \"config\" object and no \"peft_type\")");
        }
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    static BottleneckConfig fromJson(JsonNode root) {
        JsonNode c = root.get("config");
        JsonNode arch = c.get("architecture");
        if (arch != null && !arch.isNull() && !"bottleneck".equals(arch.asText())) {
            throw new IllegalArgumentException("config.architecture is \"" + arch.asText() + "\": only bottleneck"
                    + " adapters (SeqBn, DoubleSeqBn, ParBn) are supported");
        }
        for (String required : List.of("mh_adapter", "output_adapter", "reduction_factor", "non_linearity")) {
            if (!c.has(required) || c.get(required).isNull()) {
                throw new IllegalArgumentException("missing required key config." + required);
            }
        }
        BottleneckConfig.Builder b = BottleneckConfig.seqBn()
                .optMhAdapter(bool(c, "mh_adapter", false))
                .optOutputAdapter(bool(c, "output_adapter", true))
                .optNonLinearity(text(c, "non_linearity"))
                .optOriginalLnBefore(bool(c, "original_ln_before", false))
                .optOriginalLnAfter(bool(c, "original_ln_after", true))
                .optResidualBeforeLn(residual(c.get("residual_before_ln")))
                .optAdapterResidualBeforeLn(bool(c, "adapter_residual_before_ln", false))
                .optLnBefore(bool(c, "ln_before", false))
                .optLnAfter(bool(c, "ln_after", false))
                .optInitWeights(c.has("init_weights") ? text(c, "init_weights") : "bert")
                .optIsParallel(bool(c, "is_parallel", false))
                .optScaling(scaling(c.get("scaling")))
                .optUseGating(bool(c, "use_gating", false))
                .optDropout(number(c, "dropout", 0.0).doubleValue());
        JsonNode seed = c.get("init_weights_seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.isIntegralNumber()) {
                throw new IllegalArgumentException("config.init_weights_seed must be an integer or null, got " + seed);
            }
            b.optInitWeightsSeed(seed.intValue());
        }
        JsonNode rf = c.get("reduction_factor");
        if (rf.isObject()) {
            Map<String, Number> per = new LinkedHashMap<>();
            Number def = null;
            for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) rf::fields) {
                Number v = numberValue("config.reduction_factor." + e.getKey(), e.getValue());
                if (e.getKey().equals("default")) {
                    def = v;
                } else {
                    per.put(e.getKey(), v);
                }
            }
            b.optReductionFactor(per, def);
        } else {
            b.optReductionFactor(numberValue("config.reduction_factor", rf));
        }
        JsonNode leave = c.get("leave_out");
        if (leave != null && !leave.isNull()) {
            if (!leave.isArray()) {
                throw new IllegalArgumentException("config.leave_out must be a list of layer indices, got " + leave);
            }
            List<Integer> out = new ArrayList<>();
            for (JsonNode l : leave) {
                if (!l.isIntegralNumber()) {
                    throw new IllegalArgumentException("config.leave_out holds " + l + ", not a layer index");
                }
                out.add(l.intValue());
            }
            b.optLeaveOut(out);
        }
        Map<String, JsonNode> other = new TreeMap<>();
        c.fields().forEachRemaining(e -> {
            if (!KNOWN.contains(e.getKey())) {
                other.put(e.getKey(), e.getValue());
            }
        });
        b.optOtherFields(other);
        JsonNode hidden = root.get("hidden_size");
        if (hidden != null && !hidden.isNull()) {
            if (!hidden.isIntegralNumber()) {
                throw new IllegalArgumentException("hidden_size must be an integer, got " + hidden);
            }
            b.optHiddenSize(hidden.intValue());
        }
        b.optName(optText(root, "name")).optModelClass(optText(root, "model_class"))
                .optModelName(optText(root, "model_name")).optModelType(optText(root, "model_type"))
                .optVersion(optText(root, "version"));
        JsonNode ext = root.get(PEFT4J_KEY);
        if (ext != null && ext.isObject()) {
            b.optTaskType(optText(ext, "task_type"));
            JsonNode mts = ext.get("modules_to_save");
            if (mts != null && mts.isArray()) {
                List<String> names = new ArrayList<>();
                mts.forEach(n -> names.add(n.asText()));
                b.optModulesToSave(names);
            }
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config." + e.getMessage(), e);
        }
    }

    /**
     * Refuses the AdapterHub options peft4j does not compute, naming the field.
     *
     * @param other the {@code config} fields outside {@link #KNOWN}
     */
    static void checkSupported(Map<String, JsonNode> other) {
        unsupported(other, "phm_layer", n -> n.asBoolean(false), "PHM (Compacter) layers");
        unsupported(other, "inv_adapter", n -> !n.isNull(), "invertible adapters");
        unsupported(other, "cross_adapter", n -> n.asBoolean(false), "cross-attention adapters");
        unsupported(other, "stochastic_depth", n -> n.asDouble(0) != 0, "stochastic depth");
    }

    private static void unsupported(Map<String, JsonNode> other, String field,
            java.util.function.Predicate<JsonNode> set, String what) {
        JsonNode n = other.get(field);
        if (n != null && set.test(n)) {
            throw new IllegalArgumentException(field + " = " + n + " is not supported by peft4j (" + what
                    + "); only plain bottleneck layers are");
        }
    }

    private static ResidualBeforeLn residual(JsonNode n) {
        if (n == null || n.isNull()) {
            return ResidualBeforeLn.TRUE;
        }
        if (n.isBoolean()) {
            return n.booleanValue() ? ResidualBeforeLn.TRUE : ResidualBeforeLn.FALSE;
        }
        if ("post_add".equals(n.asText())) {
            return ResidualBeforeLn.POST_ADD;
        }
        throw new IllegalArgumentException("config.residual_before_ln must be true, false or \"post_add\", got " + n);
    }

    private static double scaling(JsonNode n) {
        if (n == null || n.isNull()) {
            return 1.0;
        }
        if (n.isNumber()) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException("config.scaling = " + n + " is not supported by peft4j (learned"
                + " scaling, \"learned\" or \"channel\"); use a number");
    }

    private static boolean bool(JsonNode c, String field, boolean dflt) {
        JsonNode n = c.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException("config." + field + " must be true or false, got " + n);
        }
        return n.booleanValue();
    }

    private static String text(JsonNode c, String field) {
        JsonNode n = c.get(field);
        if (n == null || !n.isTextual()) {
            throw new IllegalArgumentException("config." + field + " must be a string, got " + n);
        }
        return n.textValue();
    }

    private static String optText(JsonNode c, String field) {
        JsonNode n = c.get(field);
        return n == null || n.isNull() ? null : n.asText();
    }

    private static Number number(JsonNode c, String field, double dflt) {
        JsonNode n = c.get(field);
        return n == null || n.isNull() ? dflt : numberValue("config." + field, n);
    }

    private static Number numberValue(String field, JsonNode n) {
        if (n == null || !n.isNumber()) {
            throw new IllegalArgumentException(field + " must be a number, got " + n);
        }
        return n.isIntegralNumber() ? (Number) n.intValue() : (Number) n.doubleValue();
    }
}
