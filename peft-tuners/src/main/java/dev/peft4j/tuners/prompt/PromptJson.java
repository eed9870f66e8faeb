package dev.peft4j.tuners.prompt;

import dev.peft4j.core.peft.PeftJson;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * PEFT's {@code adapter_config.json} for the prompt-learning methods, both ways: written as
 * Python's {@code json.dumps(indent=2, sort_keys=True)} (no trailing newline), read leniently
 * (unknown keys of newer PEFT versions are ignored with one warning), every bad value named by its
 * field.
 */
final class PromptJson {

    private static final Logger LOG = LoggerFactory.getLogger(PromptJson.class);

    /** The keys every prompt-learning config has. */
    static final Set<String> COMMON = Set.of("peft_type", "task_type", "num_virtual_tokens", "token_dim",
            "num_transformer_submodules", "num_attention_heads", "num_layers", "modules_to_save", "inference_mode",
            "base_model_name_or_path", "revision", "auto_mapping", "peft_version");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private PromptJson() {}

    /** The fields every prompt-learning config shares, as PEFT names them. */
    static Map<String, Object> common(String peftType, String taskType, int numVirtualTokens, Integer tokenDim,
                                      Integer numTransformerSubmodules, Integer numAttentionHeads, Integer numLayers,
                                      List<String> modulesToSave, boolean inferenceMode, String baseModel,
                                      String revision) {
        Map<String, Object> m = new TreeMap<>();
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", baseModel);
        m.put("inference_mode", inferenceMode);
        m.put("modules_to_save", modulesToSave);
        m.put("num_attention_heads", numAttentionHeads);
        m.put("num_layers", numLayers);
        m.put("num_transformer_submodules", numTransformerSubmodules);
        m.put("num_virtual_tokens", numVirtualTokens);
        m.put("peft_type", peftType);
        m.put("revision", revision);
        m.put("task_type", taskType);
        m.put("token_dim", tokenDim);
        return m;
    }

    /** Writes {@code map} as PEFT does into {@code dir/adapter_config.json}. */
    static void write(Map<String, Object> map, Path dir) throws IOException {
        Files.writeString(dir.resolve("adapter_config.json"), toJson(map));
    }

    /** @return sorted keys, two-space indent, {@code "key": value}, no trailing newline */
    static String toJson(Map<String, Object> map) {
        return PeftJson.write(MAPPER, new TreeMap<>(map));
    }

    /**
     * Reads a file through {@code parse}, prefixing errors with the file.
     *
     * @throws IllegalArgumentException naming the file and the field
     */
    static <C> C read(Path file, String peftType, Set<String> own, Function<ObjectNode, C> parse) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        try {
            return parse.apply(object(root, peftType, own));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** Parses JSON text through {@code parse}. */
    static <C> C parse(String json, String peftType, Set<String> own, Function<ObjectNode, C> parse) {
        try {
            return parse.apply(object(MAPPER.readTree(json), peftType, own));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static ObjectNode object(JsonNode root, String peftType, Set<String> own) {
        if (!(root instanceof ObjectNode obj)) {
            throw new IllegalArgumentException("an adapter config must be a JSON object");
        }
        for (String k : List.of("peft_type", "num_virtual_tokens")) {
            if (!obj.hasNonNull(k)) {
                throw new IllegalArgumentException("missing required key '" + k + "'");
            }
        }
        String type = obj.get("peft_type").asText();
        if (!type.equals(peftType)) {
            throw new IllegalArgumentException("peft_type must be \"" + peftType + "\", got \"" + type + "\"");
        }
        TreeSet<String> unknown = new TreeSet<>();
        obj.fieldNames().forEachRemaining(k -> {
            if (!COMMON.contains(k) && !own.contains(k)) {
                unknown.add(k);
            }
        });
        if (!unknown.isEmpty()) {
            LOG.warn("adapter config: ignoring keys peft4j does not know: {}", String.join(", ", unknown));
        }
        return obj;
    }

    /** @return the integer at {@code key}, or null when absent or null */
    static Integer optInt(ObjectNode obj, String key) {
        JsonNode n = obj.get(key);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(key + " must be an integer, got " + n);
        }
        return n.intValue();
    }

    /** @return the number at {@code key}, or {@code fallback} */
    static double optDouble(ObjectNode obj, String key, double fallback) {
        JsonNode n = obj.get(key);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException(key + " must be a number, got " + n);
        }
        return n.doubleValue();
    }

    /** @return the string at {@code key}, or null */
    static String optString(ObjectNode obj, String key) {
        JsonNode n = obj.get(key);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException(key + " must be a string, got " + n);
        }
        return n.asText();
    }

    /** @return the boolean at {@code key}, or {@code fallback} */
    static boolean optBoolean(ObjectNode obj, String key, boolean fallback) {
        JsonNode n = obj.get(key);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(key + " must be true or false, got " + n);
        }
        return n.booleanValue();
    }

    /** @return the list of strings at {@code key}, or null */
    static List<String> optStrings(ObjectNode obj, String key) {
        JsonNode n = obj.get(key);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException(key + " must be a list of strings, got " + n);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode x : n) {
            if (!x.isTextual()) {
                throw new IllegalArgumentException(key + " must be a list of strings, got " + n);
            }
            out.add(x.asText());
        }
        return out;
    }

    /** @return the JSON object at {@code key} as a map, or null */
    @SuppressWarnings("unchecked")
    static Map<String, Object> optObject(ObjectNode obj, String key) {
        JsonNode n = obj.get(key);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException(key + " must be a JSON object, got " + n);
        }
        return MAPPER.convertValue(n, Map.class);
    }

    /** @return the required integer at {@code key} */
    static int requiredInt(ObjectNode obj, String key) {
        Integer v = optInt(obj, key);
        if (v == null) {
            throw new IllegalArgumentException("missing required key '" + key + "'");
        }
        return v;
    }
}
