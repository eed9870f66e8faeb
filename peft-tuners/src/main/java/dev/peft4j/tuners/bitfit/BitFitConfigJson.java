package dev.peft4j.tuners.bitfit;

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
 * BitFit's {@code adapter_config.json}, in PEFT's style (sorted keys, two-space indent, no trailing
 * newline, PEFT's base fields): {@code peft_type} {@code "BITFIT"}, {@code target_modules} ({@code
 * "all"}, a list or a regex), {@code exclude_modules}, {@code modules_to_save}, {@code task_type},
 * {@code base_model_name_or_path}, {@code inference_mode}. Unknown keys are warned about.
 */
public final class BitFitConfigJson {

    private static final Logger LOG = LoggerFactory.getLogger(BitFitConfigJson.class);

    /** The file name in an adapter directory. */
    public static final String FILE_NAME = "adapter_config.json";

    static final Set<String> KNOWN = Set.of("peft_type", "target_modules", "exclude_modules", "modules_to_save",
            "task_type", "base_model_name_or_path", "inference_mode", "auto_mapping", "revision", "peft_version");

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private BitFitConfigJson() {}

    /**
     * @param c the configuration
     * @return key → value, sorted by key
     */
    public static Map<String, Object> toMap(BitFitConfig c) {
        Map<String, Object> m = new TreeMap<>();
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", c.baseModelNameOrPath());
        m.put("exclude_modules", c.excludeModules() == null ? null : c.excludeModules().toJsonValue());
        m.put("inference_mode", c.inferenceMode());
        m.put("modules_to_save", c.modulesToSave());
        m.put("peft_type", BitFitConfig.PEFT_TYPE);
        m.put("revision", null);
        m.put("target_modules", c.targetModules() == null ? BitFitConfig.ALL : c.targetModules().toJsonValue());
        m.put("task_type", c.taskType());
        return m;
    }

    /**
     * @param c the configuration
     * @return the JSON text
     */
    public static String toJson(BitFitConfig c) {
        return PeftJson.write(MAPPER, toMap(c));
    }

    /**
     * @param c the configuration
     * @param dir an existing directory
     * @throws IOException when writing fails
     */
    public static void write(BitFitConfig c, Path dir) throws IOException {
        Files.writeString(dir.resolve(FILE_NAME), toJson(c));
    }

    /**
     * @param path an adapter directory or its config file
     * @return the configuration
     * @throws IOException when reading fails
     * @throws IllegalArgumentException naming the file and the field for an invalid value
     */
    public static BitFitConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(Objects.requireNonNull(path, "path")) ? path.resolve(FILE_NAME) : path;
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
    public static BitFitConfig parse(String json) {
        try {
            return fromJson(MAPPER.readTree(Objects.requireNonNull(json, "json")));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    static BitFitConfig fromJson(JsonNode root) {
        if (!(root instanceof ObjectNode obj)) {
            throw new IllegalArgumentException("an adapter config must be a JSON object");
        }
        if (!obj.hasNonNull("peft_type") || !BitFitConfig.PEFT_TYPE.equals(obj.get("peft_type").asText())) {
            throw new IllegalArgumentException("peft_type must be \"BITFIT\", got " + obj.get("peft_type"));
        }
        TreeSet<String> unknown = new TreeSet<>();
        obj.fieldNames().forEachRemaining(k -> {
            if (!KNOWN.contains(k)) {
                unknown.add(k);
            }
        });
        if (!unknown.isEmpty()) {
            LOG.warn("BITFIT adapter config: ignoring keys peft4j does not know: {}", String.join(", ", unknown));
        }
        BitFitConfig.Builder b = BitFitConfig.builder();
        JsonNode t = obj.get("target_modules");
        if (t != null && !t.isNull() && !(t.isTextual() && BitFitConfig.ALL.equals(t.asText()))) {
            b.setTargetModules(targets("target_modules", t));
        }
        if (obj.hasNonNull("exclude_modules")) {
            b.optExcludeModules(targets("exclude_modules", obj.get("exclude_modules")));
        }
        if (obj.hasNonNull("modules_to_save")) {
            b.optModulesToSave(strings("modules_to_save", obj.get("modules_to_save")));
        }
        JsonNode im = obj.get("inference_mode");
        if (im != null && !im.isNull()) {
            if (!im.isBoolean()) {
                throw new IllegalArgumentException("inference_mode must be true or false, got " + im);
            }
            b.optInferenceMode(im.asBoolean());
        }
        b.optTaskType(text(obj, "task_type"));
        b.optBaseModelNameOrPath(text(obj, "base_model_name_or_path"));
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
