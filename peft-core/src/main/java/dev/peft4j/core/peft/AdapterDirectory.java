package dev.peft4j.core.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.nn.Params;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Reading and writing one adapter directory (configuration + weights), for {@link PeftModel}. */
final class AdapterDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(AdapterDirectory.class);

    /** A configuration read from a directory, with its method and file. */
    record Read(PeftMethod<PeftConfig> method, PeftConfig config, Path file) {}

    private AdapterDirectory() {}

    /**
     * Reads {@code dir/adapter_config.json} through the method its {@code peft_type} names, or,
     * without {@code peft_type}, the method that {@linkplain PeftMethod#recognizes recognizes} the
     * directory.
     *
     * @throws IllegalArgumentException for an unknown type (naming it, the file and the known ones)
     *     or an invalid config
     * @throws UncheckedIOException when the file cannot be read
     */
    @SuppressWarnings("unchecked")
    static Read read(Path dir) {
        Path file = dir.resolve(AdapterFiles.CONFIG_FILE);
        try {
            PeftMethod<PeftConfig> method = hasPeftType(file) ? null
                    : (PeftMethod<PeftConfig>) PeftMethods.recognizing(dir);
            if (method == null) {
                String type = AdapterFiles.peftType(file);
                try {
                    method = (PeftMethod<PeftConfig>) PeftMethods.forType(type);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
                }
            }
            Path own = dir.resolve(method.configFileName());
            return new Read(method, method.readConfig(own), own);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /**
     * Whether {@code file} names a {@code peft_type}; true also when it cannot be read as a JSON
     * object, so that {@link AdapterFiles#peftType} reports the problem.
     */
    private static boolean hasPeftType(Path file) {
        try {
            com.fasterxml.jackson.databind.JsonNode root = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(file.toFile());
            return root == null || !root.isObject() || root.hasNonNull("peft_type");
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Writes the configuration and the arrays (as float32, with peft4j's metadata) into a
     * temporary directory beside {@code target}, then renames each file into place.
     */
    static void write(PeftMethod<PeftConfig> method, PeftConfig config, Map<String, NDArray> arrays,
                      Optional<String> quantization, Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp");
        String configFile = method.configFileName();
        String weightsFile = method.weightsFileName();
        try {
            method.writeConfig(config, tmp);
            SafetensorsWriter w = SafetensorsWriter.create().metadata("format", "pt")
                    .metadata(AdapterFiles.CONFIG_DIGEST_KEY, AdapterFiles.sha256(tmp.resolve(configFile)));
            quantization.ifPresent(q -> w.metadata(AdapterFiles.BASE_QUANTIZATION_KEY, q));
            List<NDArray> converted = new ArrayList<>();
            for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
                NDArray a = e.getValue();
                if (a.getDataType() != DataType.FLOAT32) {
                    a = a.toType(DataType.FLOAT32, true);
                    converted.add(a);
                }
                w.add(e.getKey(), a);
            }
            try {
                w.write(tmp.resolve(weightsFile));
            } finally {
                converted.forEach(NDArray::close);
            }
            for (String f : List.of(configFile, weightsFile)) {
                Files.move(tmp.resolve(f), Files.createDirectories(target).resolve(f),
                        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * Checks that {@code src} has every key with the expected shape (listing every problem), warns
     * about unexpected keys, then assigns each tensor (converted to the parameter's type and device).
     */
    static void fill(Map<String, Parameter> params, TensorSource src, NDManager manager) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            String k = e.getKey();
            Shape want = e.getValue().getArray().getShape();
            if (!src.contains(k)) {
                problems.add("missing tensor " + k);
            } else if (!new Shape(src.info(k).shape()).equals(want)) {
                problems.add("tensor " + k + " has shape " + new Shape(src.info(k).shape())
                        + " but the model expects " + want);
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("adapter weights in " + src.location() + " do not match: "
                    + String.join("; ", problems));
        }
        List<String> unexpected = src.names().stream().filter(k -> !params.containsKey(k))
                .collect(Collectors.toList());
        if (!unexpected.isEmpty()) {
            LOG.warn("adapter weights in {}: ignoring {} unexpected tensors: {}", src.location(),
                    unexpected.size(), String.join(", ", unexpected));
        }
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray v = src.load(e.getKey(), manager);
            NDArray f = v.toType(e.getValue().getArray().getDataType(), false);
            if (f != v) {
                v.close();
            }
            Params.assign(e.getValue(), f.toDevice(e.getValue().getArray().getDevice(), false));
        }
    }
}
