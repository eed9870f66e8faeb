package dev.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A Hugging Face {@code config.json}, read with Jackson, with typed accessors whose errors name the
 * file and the field. Families turn it into their own typed config.
 */
public final class HfConfig {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final ObjectNode node;
    private final String source;

    private HfConfig(ObjectNode node, String source) {
        this.node = node;
        this.source = source;
    }

    /**
     * Reads a {@code config.json} file, or {@code config.json} inside a directory.
     *
     * @param path the file or the model directory
     * @return the config
     * @throws ConfigException when the file is missing or is not a JSON object
     */
    public static HfConfig read(Path path) {
        Objects.requireNonNull(path, "path");
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("no config.json at " + file);
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new ConfigException(file + " is not valid JSON: " + e.getMessage(), e);
        }
        if (n == null || !n.isObject()) {
            throw new ConfigException(file + " must hold a JSON object");
        }
        return new HfConfig((ObjectNode) n, file.toString());
    }

    /**
     * @param node a config object (copied)
     * @param source a name for messages
     * @return the config
     */
    public static HfConfig of(ObjectNode node, String source) {
        Objects.requireNonNull(node, "node");
        return new HfConfig(node.deepCopy(), Objects.requireNonNull(source, "source"));
    }

    /** @return where the config came from */
    public String source() {
        return source;
    }

    /** @return a copy of the underlying JSON object */
    public ObjectNode json() {
        return node.deepCopy();
    }

    /** @return {@code model_type}, required */
    public String modelType() {
        return getString("model_type");
    }

    /** @return {@code architectures}, empty when absent */
    public List<String> architectures() {
        List<String> out = new ArrayList<>();
        JsonNode a = node.get("architectures");
        if (a != null && a.isArray()) {
            a.forEach(x -> out.add(x.asText()));
        }
        return out;
    }

    /**
     * @param key a field name
     * @return whether the field is present and not null
     */
    public boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /**
     * @param key a field name
     * @return the raw JSON value, or {@code null} when absent
     */
    public JsonNode get(String key) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    /**
     * @param key a required integer field
     * @return its value
     */
    public int getInt(String key) {
        JsonNode v = require(key);
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ConfigException(source + ": field '" + key + "' must be an integer, got " + v);
        }
        return v.intValue();
    }

    /**
     * @param key an optional integer field
     * @param dflt its default
     * @return its value or the default
     */
    public int optInt(String key, int dflt) {
        return has(key) ? getInt(key) : dflt;
    }

    /**
     * @param key a required number field
     * @return its value
     */
    public double getDouble(String key) {
        JsonNode v = require(key);
        if (!v.isNumber()) {
            throw new ConfigException(source + ": field '" + key + "' must be a number, got " + v);
        }
        return v.doubleValue();
    }

    /**
     * @param key an optional number field
     * @param dflt its default
     * @return its value or the default
     */
    public double optDouble(String key, double dflt) {
        return has(key) ? getDouble(key) : dflt;
    }

    /**
     * @param key an optional boolean field
     * @param dflt its default
     * @return its value or the default
     */
    public boolean optBoolean(String key, boolean dflt) {
        if (!has(key)) {
            return dflt;
        }
        JsonNode v = node.get(key);
        if (!v.isBoolean()) {
            throw new ConfigException(source + ": field '" + key + "' must be true or false, got " + v);
        }
        return v.booleanValue();
    }

    /**
     * @param key a required string field
     * @return its value
     */
    public String getString(String key) {
        JsonNode v = require(key);
        if (!v.isTextual()) {
            throw new ConfigException(source + ": field '" + key + "' must be a string, got " + v);
        }
        return v.textValue();
    }

    /**
     * @param key an optional string field
     * @param dflt its default
     * @return its value or the default
     */
    public String optString(String key, String dflt) {
        return has(key) ? getString(key) : dflt;
    }

    private JsonNode require(String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            throw new ConfigException(source + ": required field '" + key + "' is missing");
        }
        return v;
    }

    @Override
    public String toString() {
        return "HfConfig(" + source + ")";
    }
}
