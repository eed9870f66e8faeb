package dev.peft4j.examples.cli;

import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.peft.PeftModel;

import dev.peft4j.core.model.bert.Pooling;

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
    static final String FILE_NAME = LabelSet.FILE_NAME;

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
            return Optional.of(LabelSet.read(file).labels());
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

    /**
     * The pooling the classifier was trained with: {@code labels.json}'s {@code pooling} (written
     * by {@code peft4j train}); the pooler, as in transformers, when the file or the field is
     * absent (an adapter from Python PEFT).
     *
     * @param adapterDir the adapter directory
     * @return the pooling
     * @throws IOException when {@code labels.json} is unreadable or names an unknown pooling
     */
    static Pooling pooling(Path adapterDir) throws IOException {
        Path file = adapterDir.resolve(FILE_NAME);
        String name = Files.isRegularFile(file) ? LabelSet.read(file).metadata().get("pooling") : null;
        if (name == null) {
            return Pooling.POOLER;
        }
        try {
            return Pooling.parse(name);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": field 'pooling': " + e.getMessage(), e);
        }
    }
}
