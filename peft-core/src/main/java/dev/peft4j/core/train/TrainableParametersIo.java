package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The default {@link CheckpointIo}: every trainable parameter of a module, by its dotted path, in
 * {@value #FILE_NAME}. Loading requires exactly the trainable parameters with their shapes and
 * overwrites them in place.
 */
public final class TrainableParametersIo implements CheckpointIo {

    /** The file written into the directory. */
    public static final String FILE_NAME = "trainable.safetensors";

    private final Module module;

    /** @param module the model whose trainable parameters are saved */
    public TrainableParametersIo(Module module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    @Override
    public void save(Path dir) throws IOException {
        SafetensorsWriter w = SafetensorsWriter.create().metadata("format", "pt");
        trainable().forEach((path, p) -> w.add(path, p.getArray()));
        w.write(dir.resolve(FILE_NAME));
    }

    @Override
    public void load(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        Map<String, Parameter> trainable = trainable();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            List<String> problems = new ArrayList<>();
            for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                if (!f.contains(e.getKey())) {
                    problems.add("missing " + e.getKey());
                    continue;
                }
                Shape want = e.getValue().getArray().getShape();
                Shape have = f.info(e.getKey()).djlShape();
                if (!want.equals(have)) {
                    problems.add(e.getKey() + " has shape " + have + ", the model " + want);
                }
            }
            for (String name : f.names()) {
                if (!trainable.containsKey(name)) {
                    problems.add("unexpected " + name);
                }
            }
            if (!problems.isEmpty()) {
                throw new IOException(file + " does not match the model's trainable parameters: "
                        + String.join("; ", problems));
            }
            for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
                NDArray current = e.getValue().getArray();
                NDManager m = current.getManager();
                try (NDManager scratch = m.newSubManager()) {
                    Params.assign(e.getValue(), f.load(e.getKey(), scratch));
                }
            }
        }
    }

    private Map<String, Parameter> trainable() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        module.namedParameters().forEach((path, p) -> {
            if (p.requiresGradient()) {
                if (!p.isInitialized()) {
                    throw new IllegalStateException("trainable parameter '" + path + "' has no array");
                }
                out.put(path, p);
            }
        });
        return out;
    }
}
