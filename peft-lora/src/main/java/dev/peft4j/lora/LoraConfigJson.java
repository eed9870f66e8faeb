package dev.peft4j.lora;

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
import java.util.Objects;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * PEFT's {@code adapter_config.json} for LoRA, both ways, through Jackson. Written with sorted keys
 * and a two-space indent like Python's {@code json.dumps(indent=2, sort_keys=True)}; read leniently
 * as PEFT files come: unknown keys (fields of newer PEFT versions) are ignored with one warning.
 */
public final class LoraConfigJson {

    private static final Logger LOG = LoggerFactory.getLogger(LoraConfigJson.class);

    /** The file name in an adapter directory. */
    public static final String FILE_NAME = "adapter_config.json";

    /** Keys that must be present in a file. */
    static final List<String> REQUIRED = List.of("peft_type", "r", "lora_alpha", "target_modules");

    /** Every key peft4j reads. */
    static final Set<String> KNOWN = Set.of("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules",
            "exclude_modules", "layers_to_transform", "layers_pattern", "bias", "modules_to_save",
            "init_lora_weights", "use_rslora", "use_dora", "rank_pattern", "alpha_pattern", "fan_in_fan_out",
            "task_type", "base_model_name_or_path", "inference_mode");

    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private LoraConfigJson() {}

    /**
     * The configuration as PEFT's key → value map, sorted by key.
     *
     * @param c the configuration
     * @return the map
     */
    public static Map<String, Object> toMap(LoraConfig c) {
        Map<String, Object> m = new TreeMap<>();
        m.put("peft_type", "LORA");
        m.put("r", c.r());
        m.put("lora_alpha", number(c.loraAlpha()));
        m.put("lora_dropout", c.loraDropout());
        m.put("target_modules", c.targetModules().toJsonValue());
        m.put("exclude_modules", c.excludeModules() == null ? null : c.excludeModules().toJsonValue());
        m.put("layers_to_transform", c.layersToTransform());
        m.put("layers_pattern", c.layersPattern() == null ? null
                : c.layersPattern().size() == 1 ? c.layersPattern().get(0) : c.layersPattern());
        m.put("bias", c.bias().jsonValue());
        m.put("modules_to_save", c.modulesToSave());
        m.put("init_lora_weights", c.initLoraWeights().jsonValue());
        m.put("use_rslora", c.useRslora());
        m.put("use_dora", c.useDora());
        m.put("rank_pattern", new TreeMap<>(c.rankPattern()));
        Map<String, Object> alpha = new TreeMap<>();
        c.alphaPattern().forEach((k, v) -> alpha.put(k, number(v)));
        m.put("alpha_pattern", alpha);
        m.put("fan_in_fan_out", c.fanInFanOut());
        m.put("task_type", c.taskType());
        m.put("base_model_name_or_path", c.baseModelNameOrPath());
        m.put("inference_mode", c.inferenceMode());
        return m;
    }

    private static Object number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
    }

    /**
     * @param c the configuration
     * @return PEFT-style JSON: sorted keys, two-space indent, {@code "key": value}
     */
    public static String toJson(LoraConfig c) {
        return PeftJson.write(MAPPER, toMap(c));
    }

    /**
     * Writes {@code adapter_config.json} into {@code dir}.
     *
     * @param c the configuration
     * @param dir an existing directory
     * @throws IOException when writing fails
     */
    public static void write(LoraConfig c, Path dir) throws IOException {
        Files.writeString(dir.resolve(FILE_NAME), toJson(c));
    }

    /**
     * Reads {@code dir/adapter_config.json} (or the file itself when {@code path} is a file).
     *
     * @param path an adapter directory or config file
     * @return the configuration
     * @throws IOException when reading fails
     * @throws IllegalArgumentException naming the file and the field for a missing or invalid value
     */
    public static LoraConfig read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * @param json the configuration as JSON text
     * @return the configuration
     * @throws IllegalArgumentException naming the field for a missing or invalid value
     */
    public static LoraConfig parse(String json) {
        Objects.requireNonNull(json, "json");
        try {
            return fromJson(MAPPER.readTree(json));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    static LoraConfig fromJson(JsonNode root) {
        if (!(root instanceof ObjectNode obj)) {
            throw new IllegalArgumentException("an adapter config must be a JSON object");
        }
        for (String k : REQUIRED) {
            if (!obj.hasNonNull(k)) {
                throw new IllegalArgumentException("missing required key '" + k + "'");
            }
        }
        String peftType = obj.get("peft_type").asText();
        if (!peftType.equals("LORA")) {
            throw new IllegalArgumentException("peft_type must be \"LORA\", got \"" + peftType + "\"");
        }
        TreeSet<String> unknown = new TreeSet<>();
        obj.fieldNames().forEachRemaining(k -> {
            if (!KNOWN.contains(k)) {
                unknown.add(k);
            }
        });
        if (!unknown.isEmpty()) {
            LOG.warn("adapter config: ignoring keys peft4j does not know: {}", String.join(", ", unknown));
        }
        LoraConfig.Builder b = LoraConfig.builder()
                .setTargetModules(targets("target_modules", obj.get("target_modules")))
                .optR(integer(obj, "r"))
                .optLoraAlpha(real(obj, "lora_alpha"));
        if (obj.hasNonNull("lora_dropout")) {
            b.optLoraDropout(real(obj, "lora_dropout"));
        }
        if (obj.hasNonNull("exclude_modules")) {
            b.optExcludeModules(targets("exclude_modules", obj.get("exclude_modules")));
        }
        if (obj.hasNonNull("layers_to_transform")) {
            JsonNode n = obj.get("layers_to_transform");
            List<Integer> layers = new ArrayList<>();
            if (n.isArray()) {
                n.forEach(x -> layers.add(intValue("layers_to_transform element", x)));
            } else if (n.isNumber()) {
                layers.add(intValue("layers_to_transform", n));
            } else {
                throw new IllegalArgumentException("layers_to_transform must be an integer or a list, got " + n);
            }
            b.optLayersToTransform(layers);
        }
        if (obj.hasNonNull("layers_pattern")) {
            b.optLayersPattern(strings("layers_pattern", obj.get("layers_pattern")));
        }
        if (obj.hasNonNull("bias")) {
            b.optBias(LoraBias.fromJson(obj.get("bias").asText()));
        }
        if (obj.hasNonNull("modules_to_save")) {
            b.optModulesToSave(strings("modules_to_save", obj.get("modules_to_save")));
        }
        if (obj.hasNonNull("init_lora_weights")) {
            JsonNode n = obj.get("init_lora_weights");
            b.optInitLoraWeights(LoraInit.fromJson(n.isBoolean() ? (Object) n.asBoolean() : n.asText()));
        }
        b.optUseRslora(bool(obj, "use_rslora"));
        b.optUseDora(bool(obj, "use_dora"));
        b.optFanInFanOut(bool(obj, "fan_in_fan_out"));
        b.optInferenceMode(bool(obj, "inference_mode"));
        if (obj.hasNonNull("rank_pattern")) {
            Map<String, Integer> m = new LinkedHashMap<>();
            fields(obj.get("rank_pattern")).forEach((k, v) -> m.put(k, intValue("rank_pattern['" + k + "']", v)));
            b.optRankPattern(m);
        }
        if (obj.hasNonNull("alpha_pattern")) {
            Map<String, Double> m = new LinkedHashMap<>();
            fields(obj.get("alpha_pattern")).forEach((k, v) -> m.put(k, doubleValue("alpha_pattern['" + k + "']", v)));
            b.optAlphaPattern(m);
        }
        if (obj.hasNonNull("task_type")) {
            b.optTaskType(obj.get("task_type").asText());
        }
        if (obj.hasNonNull("base_model_name_or_path")) {
            b.optBaseModelNameOrPath(obj.get("base_model_name_or_path").asText());
        }
        return b.build();
    }

    private static TargetModules targets(String field, JsonNode n) {
        try {
            if (n.isTextual()) {
                return TargetModules.parse(n.asText());
            }
            return TargetModules.of(strings(field, n));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
        }
    }

    private static List<String> strings(String field, JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isTextual()) {
            out.add(n.asText());
        } else if (n.isArray()) {
            n.forEach(x -> out.add(x.asText()));
        } else {
            throw new IllegalArgumentException(field + " must be a string or a list of strings, got " + n);
        }
        return out;
    }

    private static Map<String, JsonNode> fields(JsonNode n) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.fields();
        it.forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private static int integer(ObjectNode obj, String field) {
        return intValue(field, obj.get(field));
    }

    /** A 32-bit integer (8.0 is accepted as 8); never truncated or wrapped silently. */
    private static int intValue(String what, JsonNode n) {
        if (!n.isNumber()
                || n.asDouble() != Math.rint(n.asDouble())
                || !(n.isIntegralNumber() ? n.canConvertToInt() : Math.abs(n.asDouble()) <= Integer.MAX_VALUE)) {
            throw new IllegalArgumentException(what + " must be an integer, got " + n);
        }
        return n.isIntegralNumber() ? n.intValue() : (int) n.asDouble();
    }

    private static double real(ObjectNode obj, String field) {
        return doubleValue(field, obj.get(field));
    }

    private static double doubleValue(String what, JsonNode n) {
        if (!n.isNumber()) {
            throw new IllegalArgumentException(what + " must be a number, got " + n);
        }
        return n.asDouble();
    }

    private static boolean bool(ObjectNode obj, String field) {
        JsonNode n = obj.get(field);
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(field + " must be true or false, got " + n);
        }
        return n.asBoolean();
    }
}
