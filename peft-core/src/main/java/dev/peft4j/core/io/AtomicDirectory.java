package dev.peft4j.core.io;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * An output directory that appears complete or not at all: files are written into a temporary
 * sibling ({@code .<name>.tmp-<random>}), which {@link #commit()} renames onto the target; {@link
 * #close()} without a commit deletes it, so a failure never leaves a partial output.
 *
 * <pre>{@code
 * try (AtomicDirectory out = AtomicDirectory.create(target)) {
 *     Files.writeString(out.path().resolve("config.json"), json);
 *     writer.write(out.path().resolve("model.safetensors"));
 *     out.commit();
 * }
 * }</pre>
 */
public final class AtomicDirectory implements AutoCloseable {

    private final Path target;
    private final Path tmp;
    private boolean committed;

    private AtomicDirectory(Path target, Path tmp) {
        this.target = target;
        this.tmp = tmp;
    }

    /**
     * Checks the target and creates the temporary directory beside it.
     *
     * @param target the directory to produce: absent, or an empty directory (replaced)
     * @return the open output
     * @throws FileAlreadyExistsException when the target is a file or a non-empty directory
     * @throws IOException when the temporary directory cannot be created
     */
    public static AtomicDirectory create(Path target) throws IOException {
        if (Files.exists(target)) {
            if (!Files.isDirectory(target)) {
                throw new FileAlreadyExistsException(target.toString(), null,
                        "the output exists and is not a directory");
            }
            try (Stream<Path> s = Files.list(target)) {
                if (s.findAny().isPresent()) {
                    throw new FileAlreadyExistsException(target.toString(), null,
                            "the output directory exists and is not empty");
                }
            }
        }
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + abs.getFileName() + ".tmp-"
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
        Files.createDirectory(tmp);
        return new AtomicDirectory(abs, tmp);
    }

    /** @return the temporary directory to write into */
    public Path path() {
        return tmp;
    }

    /** @return the final directory */
    public Path target() {
        return target;
    }

    /**
     * Renames the temporary directory onto the target (an empty target directory is removed
     * first).
     *
     * @throws IOException when the rename fails (the temporary directory is then deleted by {@link
     *     #close()})
     */
    public void commit() throws IOException {
        if (committed) {
            return;
        }
        if (Files.isDirectory(target)) {
            Files.delete(target); // empty, checked in create
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
    }

    /** Deletes the temporary directory unless committed. */
    @Override
    public void close() {
        if (committed) {
            return;
        }
        try (Stream<Path> s = Files.walk(tmp)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a leftover hidden temporary directory is harmless
        }
    }
}
