package dev.peft4j.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.onnx.OnnxWeights;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A built-in model (see {@link Builtins}): its Hugging Face {@code config.json}, weights and
 * {@code tokenizer.json}, all read from the classpath.
 */
public final class BuiltinModel {

    private static final Logger logger = LoggerFactory.getLogger(BuiltinModel.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * Where a built-in model's parts are.
     *
     * @param id the {@code builtin:} id
     * @param description a human-readable description
     * @param configResource classpath resource of the {@code config.json}
     * @param onnxResource classpath resource of the ONNX model holding the weights
     * @param tokenizerResource classpath resource of the {@code tokenizer.json}
     * @param artifact the Maven artifact that provides the resources, for messages
     */
    record Spec(
            String id,
            String description,
            String configResource,
            String onnxResource,
            String tokenizerResource,
            String artifact) {}

    private final Spec spec;
    private final ObjectNode config;

    BuiltinModel(Spec spec) {
        this.spec = spec;
        try (InputStream in = open(spec.configResource())) {
            JsonNode node = MAPPER.readTree(in);
            if (!(node instanceof ObjectNode)) {
                throw new IOException(spec.configResource() + " is not a JSON object");
            }
            this.config = (ObjectNode) node;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the config of " + spec.id(), e);
        }
    }

    /** @return the id, e.g. {@code builtin:all-minilm-l6-v2} */
    public String id() {
        return spec.id();
    }

    /** @return a human-readable description */
    public String description() {
        return spec.description();
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
     * whole model file is read onto the heap once (see {@link OnnxWeights} for memory), or
     * memory-mapped when the resource is a plain file; close the source to release it.
     *
     * @return the weights
     * @throws IOException when the resource is missing or malformed
     */
    public TensorSource openWeights() throws IOException {
        URL url = resource(spec.onnxResource());
        if ("file".equals(url.getProtocol())) {
            try {
                return OnnxWeights.open(Path.of(url.toURI()));
            } catch (URISyntaxException e) {
                throw new IOException("bad resource URL " + url, e);
            }
        }
        URLConnection conn = url.openConnection();
        conn.setUseCaches(false); // closes the jar with the stream instead of caching it
        long size = conn.getContentLengthLong();
        logger.debug("reading {} ({} bytes) from {}", spec.id(), size, url);
        try (InputStream in = conn.getInputStream()) {
            return size >= 0
                    ? OnnxWeights.read(in, size, spec.id())
                    : OnnxWeights.read(in, spec.id());
        }
    }

    /**
     * Opens the ONNX model the weights come from (for reference runs, e.g. with ONNX Runtime).
     *
     * @return a stream of the {@code .onnx} file; the caller closes it
     * @throws IOException when the resource is missing
     */
    public InputStream openOnnxModel() throws IOException {
        return open(spec.onnxResource());
    }

    /**
     * Opens the Hugging Face {@code tokenizer.json}.
     *
     * @return a stream; the caller closes it
     * @throws IOException when the resource is missing
     */
    public InputStream openTokenizerJson() throws IOException {
        return open(spec.tokenizerResource());
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

    private InputStream open(String name) throws IOException {
        URLConnection conn = resource(name).openConnection();
        conn.setUseCaches(false);
        return conn.getInputStream();
    }

    private URL resource(String name) throws IOException {
        URL url = BuiltinModel.class.getClassLoader().getResource(name);
        if (url == null) {
            throw new IOException(
                    spec.id()
                            + ": resource "
                            + name
                            + " not found on the classpath (it comes from "
                            + spec.artifact()
                            + ")");
        }
        return url;
    }

    @Override
    public String toString() {
        return spec.id();
    }
}
