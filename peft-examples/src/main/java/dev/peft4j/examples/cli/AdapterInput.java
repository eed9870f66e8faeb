package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.AdapterFiles;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftMethods;
import dev.peft4j.core.peft.PeftModel;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Locale;
import java.util.Objects;

/**
 * A command line's {@code --adapter DIR}: an adapter directory of any method, loaded onto a base
 * model for inference. The method is recognised from the files, as {@link PeftModel#load} does:
 * PEFT's {@code adapter_config.json} names it in {@code peft_type} (with {@code
 * adapter_model.safetensors}); AdapterHub's bottleneck directories ({@code adapter_config.json} in
 * AdapterHub's format + {@code adapter.safetensors}) are recognised by their format, and AdapterHub's
 * pickle {@code pytorch_adapter.bin} is refused with the two Python lines that convert it.
 *
 * <p>The adapter's {@code base_model_name_or_path}, where its config has one, is compared loosely
 * with the names of {@code --model} (its id or path, the directory name, the config's {@code
 * _name_or_path}): a mismatch is a warning on stderr, since the same model travels under many
 * names. Everything else must fit: an unknown {@code peft_type}, target modules that match no
 * layer, missing tensors, shape mismatches, a prefix for another number of layers or a bottleneck
 * adapter for another hidden size fail before the model is changed, naming the file and the tensor
 * or field.
 */
final class AdapterInput {

    private AdapterInput() {}

    /**
     * Reads the adapter's configuration, checking the directory's files first.
     *
     * @param dir the adapter directory
     * @return its configuration ({@link PeftConfig#peftType()} names the method)
     * @throws IOException when a file is missing or unreadable
     * @throws IllegalArgumentException naming the file and field of an invalid config or an unknown
     *     {@code peft_type}
     */
    static PeftConfig readConfig(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "--adapter must be an adapter directory (PEFT:"
                    + " adapter_config.json + adapter_model.safetensors; AdapterHub: adapter_config.json +"
                    + " adapter.safetensors)");
        }
        Path configFile = dir.resolve(AdapterFiles.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new NoSuchFileException(configFile.toString(), null, "the adapter directory has no "
                    + AdapterFiles.CONFIG_FILE);
        }
        PeftConfig config;
        try {
            config = PeftMethods.readConfig(dir);
        } catch (UncheckedIOException e) {
            throw new IOException(e.getMessage() + ": " + CliCommand.message(e.getCause()), e);
        } catch (IllegalArgumentException e) {
            throw named(e, dir, configFile);
        }
        String weights = PeftMethods.forType(config.peftType()).weightsFileName();
        if (!Files.isRegularFile(dir.resolve(weights))) {
            throw new NoSuchFileException(dir.resolve(weights).toString(), null, "the " + config.peftType()
                    + " adapter directory has no " + weights);
        }
        return config;
    }

    /**
     * Checks that the adapter's method can be merged into the base weights.
     *
     * @param config the adapter's configuration
     * @param dir the adapter directory, for the message
     * @throws IllegalArgumentException naming the method when it cannot be merged
     */
    static void checkMergeable(PeftConfig config, Path dir) {
        if (!PeftMethods.forType(config.peftType()).supportsMerge()) {
            throw new IllegalArgumentException(dir + " holds a " + config.peftType() + " adapter, which cannot be"
                    + " merged into the base weights (only LORA, IA3 and BITFIT adapters merge); use it with"
                    + " --adapter instead");
        }
    }

    /**
     * Loads the adapter onto {@code base} (changed in place: target layers become LoRA layers) in
     * inference mode and activates it.
     *
     * @param base the loaded base model
     * @param dir the adapter directory
     * @param modelNames names the base goes by, for the {@code base_model_name_or_path} check
     * @param manager owner of the adapter arrays
     * @param err where the warning goes
     * @param <M> the base model's type
     * @return the adapted model
     * @throws IOException when a file is missing or unreadable
     * @throws IllegalArgumentException naming the file and the tensor or field when the adapter
     *     does not fit the model
     */
    static <M extends Module> PeftModel<M> load(M base, Path dir, Collection<String> modelNames, NDManager manager, PrintWriter err)
            throws IOException {
        PeftConfig config = readConfig(dir);
        String trainedOn = config.baseModelNameOrPath();
        if (trainedOn != null && !trainedOn.isBlank() && modelNames.stream().noneMatch(n -> sameModel(n, trainedOn))) {
            err.println("warning: adapter " + dir + " was trained on '" + trainedOn + "' but --model is '"
                    + modelNames.iterator().next() + "'; loading it anyway");
            err.flush();
        }
        try {
            return PeftModel.load(base, dir, manager, false);
        } catch (UncheckedIOException e) {
            throw new IOException(e.getMessage() + ": " + CliCommand.message(e.getCause()), e);
        } catch (IllegalArgumentException e) {
            throw named(e, dir, dir.resolve(AdapterFiles.CONFIG_FILE));
        }
    }

    /** The exception itself when its message names the directory, else one prefixed with {@code file}. */
    private static IllegalArgumentException named(IllegalArgumentException e, Path dir, Path file) {
        String m = CliCommand.message(e);
        return m.contains(dir.toString()) ? e : new IllegalArgumentException(file + ": " + m, e);
    }

    /**
     * Loose comparison: equal ignoring case, or the same last path segment ({@code
     * sentence-transformers/all-MiniLM-L6-v2} and {@code /models/all-MiniLM-L6-v2}).
     */
    static boolean sameModel(String a, String b) {
        if (a == null || b == null) {
            return false;
        }
        String x = strip(a);
        String y = strip(b);
        return x.equals(y) || Objects.equals(last(x), last(y));
    }

    private static String strip(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT).replace('\\', '/');
        while (t.endsWith("/")) {
            t = t.substring(0, t.length() - 1);
        }
        return t;
    }

    private static String last(String s) {
        String l = s.substring(s.lastIndexOf('/') + 1);
        return l.isEmpty() ? null : l;
    }
}
