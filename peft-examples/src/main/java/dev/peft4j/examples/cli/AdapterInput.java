package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.nn.Module;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraConfigJson;
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
 * A command line's {@code --adapter DIR}: a PEFT LoRA adapter directory ({@code
 * adapter_config.json}, {@code adapter_model.safetensors}) loaded onto a base model for inference.
 *
 * <p>The adapter's {@code base_model_name_or_path} is compared loosely with the names of {@code
 * --model} (its id or path, the directory name, the config's {@code _name_or_path}): a mismatch is
 * a warning on stderr, since the same model travels under many names. Everything else must fit:
 * target modules that match no layer, missing tensors and shape mismatches fail, naming the file
 * and the tensor or field.
 */
final class AdapterInput {

    private AdapterInput() {}

    /**
     * Reads the adapter's configuration, checking the directory's files first.
     *
     * @param dir the adapter directory
     * @return its configuration
     * @throws IOException when a file is missing or unreadable
     */
    static LoraConfig readConfig(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null,
                    "--adapter must be a PEFT adapter directory (adapter_config.json, adapter_model.safetensors)");
        }
        for (String f : new String[] {LoraConfigJson.FILE_NAME, PeftModel.WEIGHTS_FILE}) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new NoSuchFileException(dir.resolve(f).toString(), null, "the adapter directory has no " + f);
            }
        }
        return LoraConfigJson.read(dir);
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
        LoraConfig config = readConfig(dir);
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
            String m = CliCommand.message(e);
            throw m.contains(dir.toString()) ? e
                    : new IllegalArgumentException(dir.resolve(LoraConfigJson.FILE_NAME) + ": " + m, e);
        }
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
