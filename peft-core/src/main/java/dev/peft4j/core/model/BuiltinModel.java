package dev.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.TensorSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A built-in model (see {@link Builtins}): its Hugging Face {@code config.json}, weights and
 * {@code tokenizer.json}, read from the classpath through its {@link BuiltinModelSource}.
 */
public final class BuiltinModel {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final BuiltinModelSource source;
    private final ObjectNode config;

    BuiltinModel(BuiltinModelSource source) {
        this.source = source;
        try (InputStream in = source.openConfig()) {
            JsonNode node = MAPPER.readTree(in);
            if (!(node instanceof ObjectNode)) {
                throw new IOException("the config.json of " + source.id() + " is not a JSON object");
            }
            this.config = (ObjectNode) node;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the config of " + source.id(), e);
        }
    }

    /** @return the id, e.g. {@code builtin:all-minilm-l6-v2} */
    public String id() {
        return source.id();
    }

    /** @return a human-readable description */
    public String description() {
        return source.description();
    }

    /**
     * The model's Hugging Face {@code config.json}, as {@link ObjectMapper#readTree} returns it for
     * a downloaded model (e.g. {@code hidden_size}, {@code num_hidden_layers}, {@code
     * layer_norm_eps}, {@code architectures}).
     *
     * @return a fresh copy, free to modify
     */
    public ObjectNode config() {
        return config.deepCopy();
    }

    /**
     * Opens the weights under their Hugging Face names and shapes. For the ONNX-backed models the
     * whole model file is read onto the heap once, or memory-mapped when the resource is a plain
     * file; close the source to release it.
     *
     * @return the weights
     * @throws IOException when the resource is missing or malformed
     */
    public TensorSource openWeights() throws IOException {
        return source.openWeights();
    }

    /**
     * Opens the ONNX model the weights come from (for reference runs, e.g. with ONNX Runtime).
     *
     * @return a stream of the {@code .onnx} file; the caller closes it
     * @throws IOException when the resource is missing or the model has no ONNX file
     */
    public InputStream openOnnxModel() throws IOException {
        return source.openOnnxModel();
    }

    /**
     * Opens the Hugging Face {@code tokenizer.json}.
     *
     * @return a stream; the caller closes it
     * @throws IOException when the resource is missing
     */
    public InputStream openTokenizerJson() throws IOException {
        return source.openTokenizerJson();
    }

    /**
     * Reads the Hugging Face {@code tokenizer.json}.
     *
     * @return its text
     * @throws IOException when the resource is missing
     */
    public String tokenizerJson() throws IOException {
        try (InputStream in = openTokenizerJson()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Override
    public String toString() {
        return source.id();
    }
}
