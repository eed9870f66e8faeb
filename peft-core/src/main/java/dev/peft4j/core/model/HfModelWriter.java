package dev.peft4j.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.adapter.AdapterLayer;
import dev.peft4j.core.io.AtomicDirectory;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.nn.Module;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a plain model as a Hugging Face model directory: {@code config.json}, {@code
 * model.safetensors} (metadata {@code format: pt}) and the tokenizer files. Every parameter is
 * stored under its module path, which for peft4j models is the Hugging Face name; tied parameters
 * once, under their first name. Weights are stored as F32 whatever the checkpoint's dtype was
 * (peft4j loads BF16/F16 checkpoints as float32 on CPU and never builds BF16 arrays), and {@code
 * torch_dtype} says {@code float32}. {@link #save} builds the directory beside the target and
 * renames it into place, so the target appears complete or not at all.
 */
public final class HfModelWriter {

    /** The config file of a model directory. */
    public static final String CONFIG_FILE = "config.json";

    /** The weights file of a saved model directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";

    private HfModelWriter() {}

    /**
     * Writes atomically into {@code target}, which must be absent or an empty directory.
     *
     * @param model a plain model (no adapter layers, no 4-bit layers)
     * @param config its {@code config.json} object (written as given, {@code torch_dtype} set to
     *     {@code float32})
     * @param files further files by name (tokenizer files)
     * @param target the directory to produce
     * @return the number of tensors written
     * @throws java.nio.file.FileAlreadyExistsException when the target is a file or a non-empty
     *     directory
     * @throws IOException when writing fails (nothing is left at the target)
     * @throws IllegalStateException naming the layer or parameter when the model is not plain
     */
    public static int save(Module model, ObjectNode config, Map<String, byte[]> files, Path target)
            throws IOException {
        checkPlain(model);
        try (AtomicDirectory out = AtomicDirectory.create(target)) {
            int n = write(model, config, out.path());
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                Files.write(out.path().resolve(f.getKey()), f.getValue());
            }
            out.commit();
            return n;
        }
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} into an existing directory.
     *
     * @param model the plain model
     * @param config its {@code config.json} object (written as given, with {@code torch_dtype}
     *     set to {@code float32})
     * @param dir the directory to write into
     * @return the number of tensors written
     * @throws IOException when writing fails
     * @throws IllegalStateException naming the parameter when one has no value
     */
    public static int write(Module model, ObjectNode config, Path dir) throws IOException {
        ObjectNode json = config.deepCopy();
        json.put("torch_dtype", "float32");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve(CONFIG_FILE).toFile(),
                json);
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

    /**
     * @param model a model to save
     * @throws IllegalStateException naming the first adapter layer (merge it first) or non-float
     *     parameter (a 4-bit layer: dequantize first)
     */
    public static void checkPlain(Module model) {
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof AdapterLayer) {
                throw new IllegalStateException("cannot save '" + e.getKey() + "': it is an adapter layer ("
                        + e.getValue().getClass().getSimpleName() + "); merge the adapter first (mergeAndUnload)");
            }
        }
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            if (e.getValue().isInitialized() && !e.getValue().getArray().getDataType().isFloating()) {
                throw new IllegalStateException("cannot save parameter '" + e.getKey() + "' of type "
                        + e.getValue().getArray().getDataType() + " as float32: the model has 4-bit layers;"
                        + " dequantize them first (PeftModel.mergeAndUnloadDense)");
            }
        }
    }

    /**
     * @param model a model
     * @param assets its assets, or null
     * @return the manager that inference sub-managers hang under: the owned one, else the manager
     *     of the model's first parameter array
     * @throws IllegalStateException when the model has no loaded parameter
     */
    public static ai.djl.ndarray.NDManager workManager(Module model, PretrainedAssets assets) {
        if (assets != null && assets.owner().isPresent()) {
            return assets.owner().get();
        }
        for (Parameter p : model.namedParameters().values()) {
            if (p.isInitialized()) {
                return p.getArray().getManager();
            }
        }
        throw new IllegalStateException("the model has no loaded parameters");
    }

    /**
     * @param model a model
     * @param assets its assets, or null when it was built in code
     * @return its saved config's starting point
     * @throws IllegalStateException when no {@code config.json} is known
     */
    public static ObjectNode baseConfig(Module model, PretrainedAssets assets) {
        if (assets == null) {
            throw new IllegalStateException("cannot save " + model.getClass().getSimpleName() + ": it was built in"
                    + " code, so no config.json is known (load it with fromPretrained or load)");
        }
        ObjectNode c = assets.config().json().deepCopy();
        c.remove(SavedWeightLoaders.QUANTIZATION_CONFIG);
        return c;
    }
}
