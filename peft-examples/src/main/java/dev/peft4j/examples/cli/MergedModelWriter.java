package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.nn.Module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a plain model as a Hugging Face model's {@code config.json} and {@code model.safetensors}
 * (metadata {@code format: pt}): every parameter under its module path, which for peft4j models is
 * the Hugging Face name; tied parameters once, under their first name. Weights are stored as F32
 * whatever the checkpoint's dtype was (peft4j loads BF16/F16 checkpoints as float32 on CPU and
 * never builds BF16 arrays), and {@code torch_dtype} says {@code float32}.
 */
final class MergedModelWriter {

    /** The weights file of the exported directory. */
    static final String WEIGHTS_FILE = "model.safetensors";

    private MergedModelWriter() {}

    /**
     * @param model the merged model
     * @param config its {@code config.json} object (written as given, with {@code torch_dtype}
     *     set to {@code float32})
     * @param dir the directory to write into
     * @return the number of tensors written
     * @throws IOException when writing fails
     * @throws IllegalStateException naming the parameter when one has no value
     */
    static int write(Module model, ObjectNode config, Path dir) throws IOException {
        ObjectNode json = config.deepCopy();
        json.put("torch_dtype", "float32");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(dir.resolve(CheckpointRewriter.CONFIG_FILE).toFile(), json);
        SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
        List<NDArray> converted = new ArrayList<>();
        int n = 0;
        try {
            for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
                if (!e.getValue().isInitialized()) {
                    throw new IllegalStateException("cannot export: parameter '" + e.getKey() + "' has no value");
                }
                NDArray a = e.getValue().getArray();
                if (a.getDataType() != DataType.FLOAT32) {
                    a = a.toType(DataType.FLOAT32, true);
                    converted.add(a);
                }
                writer.add(e.getKey(), a);
                n++;
            }
            writer.write(dir.resolve(WEIGHTS_FILE));
        } finally {
            converted.forEach(NDArray::close);
        }
        return n;
    }
}
