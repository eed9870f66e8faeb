package dev.peft4j.core.io;

import java.util.Objects;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Opens the right {@link TensorSource} for a file or a model directory. */
public final class TensorSources {

    /** The single-file weights name Hugging Face uses. */
    public static final String SINGLE_FILE = "model.safetensors";

    private static final String SUFFIX = ".safetensors";
    private static final String INDEX_SUFFIX = ".safetensors.index.json";

    private TensorSources() {}

    /**
     * Opens safetensors weights. {@code path} may be
     *
     * <ul>
     *   <li>a {@code *.safetensors} file,
     *   <li>a {@code *.safetensors.index.json} file (sharded checkpoint),
     *   <li>a directory holding {@value ShardedSafetensors#INDEX_FILE} (sharded), else {@value
     *       #SINGLE_FILE}, else exactly one {@code *.safetensors} file.
     * </ul>
     *
     * @param path a file or directory
     * @return the open source; close it when done
     * @throws NoSuchFileException when the path does not exist or holds no weights; the message
     *     lists what was looked for
     * @throws SafetensorsException when the weights are malformed
     * @throws IOException when reading fails or a directory is ambiguous
     */
    public static TensorSource open(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (Files.isDirectory(path)) {
            return openDirectory(path);
        }
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such file or directory");
        }
        String name = path.getFileName().toString();
        if (name.endsWith(INDEX_SUFFIX)) {
            return ShardedSafetensors.open(path);
        }
        if (name.endsWith(SUFFIX)) {
            return SafetensorsFile.open(path);
        }
        throw new IOException(
                path
                        + ": not a safetensors file (expected a *"
                        + SUFFIX
                        + " or *"
                        + INDEX_SUFFIX
                        + " file, or a model directory)");
    }

    private static TensorSource openDirectory(Path dir) throws IOException {
        Path index = dir.resolve(ShardedSafetensors.INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return ShardedSafetensors.open(index);
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return SafetensorsFile.open(single);
        }
        List<Path> candidates = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path p : files) {
                if (Files.isRegularFile(p)) {
                    candidates.add(p);
                }
            }
        }
        if (candidates.size() == 1) {
            return SafetensorsFile.open(candidates.get(0));
        }
        String looked =
                "looked for "
                        + ShardedSafetensors.INDEX_FILE
                        + ", "
                        + SINGLE_FILE
                        + ", or exactly one *"
                        + SUFFIX
                        + " file";
        if (candidates.isEmpty()) {
            throw new NoSuchFileException(
                    dir.toString(), null, "no safetensors weights (" + looked + ")");
        }
        Collections.sort(candidates);
        List<String> found = new ArrayList<>();
        for (Path p : candidates) {
            found.add(p.getFileName().toString());
        }
        throw new IOException(dir + ": ambiguous weights (" + looked + "; found " + found + ")");
    }
}
