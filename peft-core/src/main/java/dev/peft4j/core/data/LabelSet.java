package dev.peft4j.core.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;

/**
 * The classes of a classification task, by index, and their file {@value #FILE_NAME}: {@code
 * {"labels": ["great", "other"], ...}} plus optional string metadata (e.g. the text field), saved
 * beside an adapter so that evaluation and inference use the training's label order.
 */
public final class LabelSet {

    /** The file name used beside an adapter. */
    public static final String FILE_NAME = "labels.json";

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final List<String> labels;
    private final Map<String, Integer> index;
    private final Map<String, String> metadata;

    private LabelSet(List<String> labels, Map<String, String> metadata) {
        if (labels.isEmpty()) {
            throw new IllegalArgumentException("a label set needs at least one label");
        }
        Map<String, Integer> idx = new HashMap<>();
        for (String l : labels) {
            if (l == null || l.isBlank()) {
                throw new IllegalArgumentException("labels must not be blank, got " + labels);
            }
            if (idx.putIfAbsent(l, idx.size()) != null) {
                throw new IllegalArgumentException("duplicate label '" + l + "' in " + labels);
            }
        }
        this.labels = List.copyOf(labels);
        this.index = idx;
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /**
     * @param labels labels in class-index order, distinct, not blank
     * @return the label set
     */
    public static LabelSet of(List<String> labels) {
        return new LabelSet(labels, Map.of());
    }

    /**
     * The distinct labels seen, sorted (by {@link String#compareTo}), so that the order does not
     * depend on the rows' order.
     *
     * @param seen every label occurrence
     * @return the label set
     */
    public static LabelSet infer(Collection<String> seen) {
        return new LabelSet(new ArrayList<>(new TreeSet<>(seen)), Map.of());
    }

    /**
     * @param metadata string settings stored beside the labels (e.g. {@code text_field})
     * @return a copy with the metadata
     */
    public LabelSet withMetadata(Map<String, String> metadata) {
        return new LabelSet(labels, metadata);
    }

    /** @return labels by class index */
    public List<String> labels() {
        return labels;
    }

    /** @return the number of classes */
    public int size() {
        return labels.size();
    }

    /**
     * @param label a label
     * @return its class index, empty when unknown
     */
    public OptionalInt indexOf(String label) {
        Integer i = index.get(label);
        return i == null ? OptionalInt.empty() : OptionalInt.of(i);
    }

    /**
     * @param classIndex a class index
     * @return its label
     */
    public String label(int classIndex) {
        return labels.get(classIndex);
    }

    /** @return the stored metadata (unmodifiable) */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Writes {@code {"labels": [...], <metadata>...}}.
     *
     * @param file the file, usually {@code <adapter dir>/labels.json}
     * @throws IOException when writing fails
     */
    public void write(Path file) throws IOException {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode arr = root.putArray("labels");
        labels.forEach(arr::add);
        metadata.forEach((k, v) -> {
            if (!k.equals("labels")) {
                root.put(k, v);
            }
        });
        Files.writeString(file, MAPPER.writeValueAsString(root) + "\n");
    }

    /**
     * Reads a file written by {@link #write}; other string fields become metadata.
     *
     * @param file the file
     * @return the label set
     * @throws DataException when the file has no non-empty {@code labels} list of strings
     * @throws IOException when reading fails
     */
    public static LabelSet read(Path file) throws IOException {
        String source = file.getFileName().toString();
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new DataException(source, 0, "invalid JSON: " + e.getOriginalMessage());
        }
        JsonNode arr = root == null ? null : root.get("labels");
        if (arr == null || !arr.isArray() || arr.isEmpty()) {
            throw new DataException(source, 0, "no 'labels' list");
        }
        List<String> labels = new ArrayList<>();
        for (JsonNode n : arr) {
            if (!n.isTextual()) {
                throw new DataException(source, 0, "'labels' must hold strings, got " + n);
            }
            labels.add(n.asText());
        }
        Map<String, String> meta = new LinkedHashMap<>();
        root.properties().forEach(e -> {
            if (!e.getKey().equals("labels") && e.getValue().isValueNode()) {
                meta.put(e.getKey(), e.getValue().asText());
            }
        });
        try {
            return new LabelSet(labels, meta);
        } catch (IllegalArgumentException e) {
            throw new DataException(source, 0, e.getMessage());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelSet s && labels.equals(s.labels) && metadata.equals(s.metadata);
    }

    @Override
    public int hashCode() {
        return labels.hashCode();
    }

    @Override
    public String toString() {
        return "LabelSet" + labels;
    }
}
