package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.nn.Module;
import dev.peft4j.quant.QuantStateDict;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.IdentityHashMap;
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
        writer.write(file);
    }
}
