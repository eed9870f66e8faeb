package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.AtomicDirectory;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.quant.QuantStateDict;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Saves a model with 4-bit layers as one safetensors file in the layout transformers and
 * bitsandbytes write for a 4-bit model: each {@link Linear4bit} weight as {@code X.weight} (U8
 * {@code [n/2, 1]}), {@code X.weight.absmax}, {@code X.weight.quant_map}, (with double
 * quantization) {@code X.weight.nested_absmax} and {@code X.weight.nested_quant_map}, and {@code
 * X.weight.quant_state.bitsandbytes__nf4} (see {@link QuantStateDict}); every other parameter as
 * it is. The file is written atomically (temp file and rename). {@link QuantizedLoader} reads it
 * back without re-quantizing.
 *
 * <p>{@link #saveModelDir} writes a whole model directory: {@code config.json} with transformers'
 * {@code quantization_config} ({@link HfQuantizationConfig}) and {@code model.safetensors}.
 */
public final class QuantizedSaver {

    private QuantizedSaver() {}

    /**
     * Saves under the parameters' own paths.
     *
     * @param model the model
     * @param file the target {@code .safetensors} file
     * @throws IOException when writing fails (the target is then unchanged)
     */
    public static void save(Module model, Path file) throws IOException {
        save(model, file, Function.identity());
    }

    /**
     * Saves under mapped names, e.g. adding a prefix a checkpoint format expects.
     *
     * @param model the model
     * @param file the target {@code .safetensors} file
     * @param nameMapper parameter path to tensor name
     * @throws IOException when writing fails (the target is then unchanged)
     * @throws IllegalStateException naming the parameter when one has no value
     */
    public static void save(Module model, Path file, Function<String, String> nameMapper)
            throws IOException {
        writer(model, nameMapper).write(file);
    }

    /**
     * Writes a Hugging Face model directory that transformers loads as a pre-quantized bitsandbytes
     * 4-bit model and peft4j reads back with {@link HfQuantizationConfig#read} and {@link
     * QuantizedLoader}: {@code config.json} ({@code config} plus {@value HfQuantizationConfig#KEY},
     * whose {@code llm_int8_skip_modules} are the quantization config's entries and the paths of
     * the linear layers left in full precision) and {@code model.safetensors}. The directory
     * appears complete or not at all.
     *
     * @param model the model, its linear layers replaced by {@link Linear4bit} where quantized
     * @param config the model's {@code config.json} object (not changed)
     * @param quantization the settings the model was quantized with
     * @param dir the target directory: absent or empty
     * @param nameMapper parameter path to tensor name
     * @throws IOException when the directory exists and is not empty, or writing fails
     */
    public static void saveModelDir(Module model, ObjectNode config, QuantizationConfig quantization, Path dir,
                                    Function<String, String> nameMapper) throws IOException {
        List<String> unquantized = new ArrayList<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof LinearLike && !(e.getValue() instanceof Linear4bit)) {
                String name = nameMapper.apply(e.getKey().isEmpty() ? "weight" : e.getKey() + ".weight");
                unquantized.add(name.endsWith(".weight") ? name.substring(0, name.length() - 7) : name);
            }
        }
        ObjectNode json = config.deepCopy();
        json.set(HfQuantizationConfig.KEY, HfQuantizationConfig.toJson(quantization, unquantized));
        SafetensorsWriter writer = writer(model, nameMapper);
        try (AtomicDirectory out = AtomicDirectory.create(dir)) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValue(out.path().resolve("config.json").toFile(), json);
            writer.write(out.path().resolve("model.safetensors"));
            out.commit();
        }
    }

    private static SafetensorsWriter writer(Module model, Function<String, String> nameMapper) {
        SafetensorsWriter writer = SafetensorsWriter.create().metadata("format", "pt");
        Set<Parameter> done = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            Module m = e.getValue();
            for (Map.Entry<String, Parameter> p : m.directParameters().entrySet()) {
                if (!done.add(p.getValue())) {
                    continue;
                }
                String path = e.getKey().isEmpty() ? p.getKey() : e.getKey() + "." + p.getKey();
                String name = nameMapper.apply(path);
                if (m instanceof Linear4bit q && "weight".equals(p.getKey())) {
                    QuantStateDict.addTo(writer, name, q.quantizedTensor());
                    continue;
                }
                if (!p.getValue().isInitialized()) {
                    throw new IllegalStateException("cannot save: parameter '" + path + "' has no value");
                }
                NDArray array = p.getValue().getArray();
                writer.add(name, array);
            }
        }
        return writer;
    }
}
