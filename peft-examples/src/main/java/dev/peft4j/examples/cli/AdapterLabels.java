package dev.peft4j.examples.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.lora.PeftModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The class labels of a classification adapter: {@code labels.json} in the adapter directory
 * ({@code {"labels": ["great", "other"], ...}}, as peft4j's trainer saves it), else {@code LABEL_i}
 * for as many classes as the adapter's saved classifier has rows.
 */
final class AdapterLabels {

    /** The labels file in an adapter directory. */
    static final String FILE_NAME = "labels.json";

    private static final List<String> CLASSIFIER_KEYS = List.of(
            "base_model.model.classifier.weight", "base_model.model.classifier.modules_to_save.weight");

    private AdapterLabels() {}

    /**
     * @param adapterDir the adapter directory
     * @return labels by class index, or empty when neither the file nor a classifier tensor says
     * @throws IOException when a file is unreadable or {@code labels.json} is malformed (naming the
     *     file and the field)
     */
    static Optional<List<String>> read(Path adapterDir) throws IOException {
        Path file = adapterDir.resolve(FILE_NAME);
        if (Files.isRegularFile(file)) {
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(file.toFile());
            } catch (JsonProcessingException e) {
                throw new IOException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
            }
            JsonNode arr = root == null ? null : root.get("labels");
            if (arr == null || !arr.isArray() || arr.isEmpty()) {
                throw new IOException(file + ": field 'labels' must be a non-empty list of strings");
            }
            List<String> labels = new ArrayList<>();
            for (JsonNode n : arr) {
                if (!n.isTextual()) {
                    throw new IOException(file + ": field 'labels' must hold strings, got " + n);
                }
                labels.add(n.textValue());
            }
            return Optional.of(labels);
        }
        try (TensorSource src = TensorSources.open(adapterDir.resolve(PeftModel.WEIGHTS_FILE))) {
            for (String key : CLASSIFIER_KEYS) {
                if (src.contains(key) && src.info(key).shape().length == 2) {
                    int n = (int) src.info(key).shape()[0];
                    List<String> labels = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        labels.add("LABEL_" + i);
                    }
                    return Optional.of(labels);
                }
            }
        }
        return Optional.empty();
    }
}
