package dev.peft4j.tuners.ia3;

import dev.peft4j.core.peft.PeftJson;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.adapter.TargetModules;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * PEFT's {@code adapter_config.json} for IA³, both ways: written as Python's {@code json.dumps(indent=2,
 * sort_keys=True)} (no trailing newline); read leniently as PEFT files come (unknown keys, such as
 * newer PEFT fields, are ignored with one warning), every invalid value failing with the field named.
 */
public final class Ia3ConfigJson {

    private static final Logger LOG = LoggerFactory.getLogger(Ia3ConfigJson.class);

    /** The file name in an adapter directory. */
    public static final String FILE_NAME = "adapter_config.json";

    /** Every key peft4j reads (PEFT 0.20's IA3Config, its base fields, and the layer extension). */
    static final Set<String> KNOWN = Set.of("peft_type", "target_modules", "feedforward_modules", "exclude_modules",
            "fan_in_fan_out", "modules_to_save", "init_ia3_weights", "layers_to_transform", "layers_pattern",
            "task_type", "base_model_name_or_path", "revision", "inference_mode", "auto_mapping", "peft_version");

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private Ia3ConfigJson() {}

    /**
     * @param c the configuration
     * @return PEFT's key → value map, sorted by key
     */
    public static Map<String, Object> toMap(Ia3Config c) {
        Map<String, Object> m = new TreeMap<>();
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", c.baseModelNameOrPath());
        m.put("exclude_modules", c.excludeModules() == null ? null : c.excludeModules().toJsonValue());
        m.put("fan_in_fan_out", c.fanInFanOut());
        m.put("feedforward_modules", c.feedforwardModules() == null ? null : c.feedforwardModules().toJsonValue());
        m.put("inference_mode", c.inferenceMode());
        m.put("init_ia3_weights", c.initIa3Weights());
        m.put("modules_to_save", c.modulesToSave());
        m.put("peft_type", Ia3Config.PEFT_TYPE);
        m.put("revision", c.revision());
        m.put("target_modules", c.targetModules() == null ? null : c.targetModules().toJsonValue());
        m.put("task_type", c.taskType());
        if (c.layersToTransform() != null) {
            m.put("layers_to_transform", c.layersToTransform());
        }
        if (c.layersPattern() != null) {
            m.put("layers_pattern", c.layersPattern().size() == 1 ? c.layersPattern().get(0) : c.layersPattern());
        }
        return m;
    }

    /**
     * @param c the configuration
     * @return PEFT-style JSON: sorted keys, two-space indent, {@code "key": value}, no trailing newline
     */
    public static String toJson(Ia3Config c) {
        return PeftJson.write(MAPPER, toMap(c));
    }

    /**
     * Writes {@code adapter_config.json} into {@code dir}.
     *
     * @param c the configuration
     * @param dir an existing directory
     * @throws IOException when writing fails
     */
    public static void write(Ia3Config c, Path dir) throws IOException {
        Files.writeString(dir.resolve(FILE_NAME), toJson(c));
    }

    /**
     * @param path an adapter directory or its config file
     * @return the configuration
     * @throws IOException when reading fails
     * @throws IllegalArgumentException naming the file and the field for an invalid value
     */
    public static Ia3Config read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        try {
            return fromJson(MAPPER.readTree(file.toFile()));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * @param json the configuration as JSON text
     * @return the configuration
     * @throws IllegalArgumentException naming the field for an invalid value
     */
    public static Ia3Config parse(String json) {
        try {
            return fromJson(MAPPER.readTree(Objects.requireNonNull(json, "json")));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    static Ia3Config fromJson(JsonNode root) {
        if (!(root instanceof ObjectNode obj)) {
            throw new IllegalArgumentException("an adapter config must be a JSON object");
        }
        if (!obj.hasNonNull("peft_type")) {
            throw new IllegalArgumentException("missing required key 'peft_type'");
        }
        if (!Ia3Config.PEFT_TYPE.equals(obj.get("peft_type").asText())) {
            throw new IllegalArgumentException("peft_type must be \"IA3\", got " + obj.get("peft_type"));
        }
        TreeSet<String> unknown = new TreeSet<>();
        obj.fieldNames().forEachRemaining(k -> {
            if (!KNOWN.contains(k)) {
                unknown.add(k);
            }
        });
        if (!unknown.isEmpty()) {
            LOG.warn("IA3 adapter config: ignoring keys peft4j does not know: {}", String.join(", ", unknown));
        }
        Ia3Config.Builder b = Ia3Config.builder();
        if (obj.hasNonNull("target_modules")) {
            b.setTargetModules(targets("target_modules", obj.get("target_modules")));
        }
        if (obj.hasNonNull("feedforward_modules")) {
            JsonNode n = obj.get("feedforward_modules");
            List<String> names = n.isTextual() ? null : strings("feedforward_modules", n);
            try {
                b.setFeedforwardModules(names == null ? FeedforwardModules.regex(n.asText()) : FeedforwardModules.of(names));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("feedforward_modules: " + e.getMessage(), e);
            }
        }
        if (obj.hasNonNull("exclude_modules")) {
            b.optExcludeModules(targets("exclude_modules", obj.get("exclude_modules")));
        }
        if (obj.hasNonNull("modules_to_save")) {
            b.optModulesToSave(strings("modules_to_save", obj.get("modules_to_save")));
        }
        if (obj.hasNonNull("layers_to_transform")) {
            JsonNode n = obj.get("layers_to_transform");
            List<Integer> layers = new ArrayList<>();
            if (n.isArray()) {
                n.forEach(x -> layers.add(integer("layers_to_transform element", x)));
            } else {
                layers.add(integer("layers_to_transform", n));
            }
            b.optLayersToTransform(layers);
        }
        if (obj.hasNonNull("layers_pattern")) {
            b.optLayersPattern(strings("layers_pattern", obj.get("layers_pattern")));
        }
        b.optFanInFanOut(bool(obj, "fan_in_fan_out", false));
        b.optInitIa3Weights(bool(obj, "init_ia3_weights", true));
        b.optInferenceMode(bool(obj, "inference_mode", false));
        b.optTaskType(text(obj, "task_type"));
        b.optBaseModelNameOrPath(text(obj, "base_model_name_or_path"));
        b.optRevision(text(obj, "revision"));
        return b.build();
    }

    private static TargetModules targets(String field, JsonNode n) {
        List<String> names = n.isTextual() ? null : strings(field, n);
        try {
            return names == null ? TargetModules.parse(n.asText()) : TargetModules.of(names);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
        }
    }

    private static List<String> strings(String field, JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            for (JsonNode x : n) {
                if (!x.isTextual()) {
                    throw new IllegalArgumentException(field + " must hold strings, got " + x);
                }
                out.add(x.asText());
            }
        } else {
            throw new IllegalArgumentException(field + " must be a string or a list of strings, got " + n);
        }
        return out;
    }

    private static int integer(String what, JsonNode n) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(what + " must be an integer, got " + n);
        }
        return n.intValue();
    }

    private static boolean bool(ObjectNode obj, String field, boolean dflt) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(field + " must be true or false, got " + n);
        }
        return n.asBoolean();
    }

    private static String text(ObjectNode obj, String field) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException(field + " must be a string, got " + n);
        }
        return n.asText();
    }
}
