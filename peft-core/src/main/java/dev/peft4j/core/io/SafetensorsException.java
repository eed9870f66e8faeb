package dev.peft4j.core.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file or a sharded checkpoint index is malformed or inconsistent.
 *
 * <p>The message always names the file and the problem, and the tensor where one is concerned,
 * e.g. {@code model.safetensors: tensor 'lm_head.weight': unknown or unsupported dtype 'F8'}.
 */
public class SafetensorsException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The offending file (not serialized: {@link Path} is not serializable). */
    private final transient Path file;

    /** The tensor concerned, or null. */
    private final String tensor;

    /**
     * @param file the offending file (the shard, or the index file)
     * @param problem what is wrong with it
     */
    public SafetensorsException(Path file, String problem) {
        this(file, null, problem, null);
    }

    /**
     * @param file the offending file
     * @param tensor the tensor concerned, or {@code null}
     * @param problem what is wrong
     * @param cause the underlying exception, or {@code null}
     */
    public SafetensorsException(Path file, String tensor, String problem, Throwable cause) {
        super(format(file, tensor, problem), cause);
        this.file = file;
        this.tensor = tensor;
    }

    /** @return the offending file */
    public Path file() {
        return file;
    }

    /** @return the tensor concerned, or {@code null} when the problem is not about one tensor */
    public String tensor() {
        return tensor;
    }

    private static String format(Path file, String tensor, String problem) {
        return tensor == null
                ? file + ": " + problem
                : file + ": tensor '" + tensor + "': " + problem;
    }
}
