package dev.peft4j.core.model;

import dev.peft4j.core.io.TensorSource;

import java.io.IOException;
import java.io.InputStream;

/**
 * Service interface of one built-in model: where its {@code config.json}, weights and {@code
 * tokenizer.json} come from. {@link Builtins} finds the implementations with {@link
 * java.util.ServiceLoader} (a {@code META-INF/services/dev.peft4j.core.model.BuiltinModelSource}
 * file in the providing jar), so that peft-core itself ships no model: {@code
 * builtin:all-minilm-l6-v2} comes with the optional module {@code dev.peft4j:peft-minilm}.
 *
 * <p>Implementations need a public no-argument constructor and must be cheap to create: reading
 * happens in the {@code open} methods.
 */
public interface BuiltinModelSource {

    /** @return the id, starting with {@link Builtins#PREFIX}, e.g. {@code builtin:all-minilm-l6-v2} */
    String id();

    /** @return a human-readable description */
    String description();

    /**
     * Opens the model's Hugging Face {@code config.json}.
     *
     * @return a stream; the caller closes it
     * @throws IOException when it cannot be read
     */
    InputStream openConfig() throws IOException;

    /**
     * Opens the weights under their Hugging Face names and shapes.
     *
     * @return the weights; the caller closes them
     * @throws IOException when they are missing or malformed
     */
    TensorSource openWeights() throws IOException;

    /**
     * Opens the Hugging Face {@code tokenizer.json}.
     *
     * @return a stream; the caller closes it
     * @throws IOException when it cannot be read
     */
    InputStream openTokenizerJson() throws IOException;

    /**
     * Opens the ONNX model the weights come from, for models that ship as ONNX (reference runs
     * with ONNX Runtime).
     *
     * @return a stream of the {@code .onnx} file; the caller closes it
     * @throws IOException when the model has no ONNX file or it cannot be read
     */
    default InputStream openOnnxModel() throws IOException {
        throw new IOException(id() + " has no ONNX model");
    }
}
