package dev.peft4j.core.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Crash-safe checkpoint directories {@code checkpoint-<step>} under one root.
 *
 * <p>A checkpoint is written into {@code checkpoint-<step>.tmp-<random>}, completed with a {@value
 * #COMPLETE_MARKER} file, synced, and renamed into place with an atomic move. Only directories named
 * exactly {@code checkpoint-<step>} that hold the marker are ever listed, so a crash mid-write
 * leaves nothing that could be resumed from. Older checkpoints are pruned only after a new one is
 * complete.
 */
public final class Checkpoints {

    /** Directory name prefix. */
    public static final String PREFIX = "checkpoint-";

    /** Written last into a checkpoint; its presence marks the checkpoint complete. */
    public static final String COMPLETE_MARKER = "COMPLETE";

    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
    private static final Pattern NAME = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)");

    /** Writes the contents of a checkpoint into an empty directory. */
    @FunctionalInterface
    public interface Contents {
        /**
         * @param dir the (temporary) checkpoint directory
         * @throws IOException when writing fails
         */
        void write(Path dir) throws IOException;
    }

    private final Path root;

    /** @param root the directory holding the checkpoints (created when needed) */
    public Checkpoints(Path root) {
        this.root = Objects.requireNonNull(root, "root");
    }

    /** @return the directory holding the checkpoints */
    public Path root() {
        return root;
    }

    /**
     * Writes a checkpoint atomically, replacing one of the same step.
     *
     * @param step the optimizer step
     * @param contents writes the files
     * @return the complete checkpoint directory
     * @throws IOException when writing fails; then no {@code checkpoint-<step>} is created or changed
     */
    public Path write(long step, Contents contents) throws IOException {
        Files.createDirectories(root);
        Path target = root.resolve(PREFIX + step);
        replaceDirectory(target, dir -> {
            contents.write(dir);
            Files.writeString(dir.resolve(COMPLETE_MARKER), "step " + step + System.lineSeparator());
        });
        return target;
    }

    /**
     * Writes a directory through a temporary sibling {@code <name>.tmp-<random>}, synced and moved
     * into place atomically; an existing directory of that name is replaced (moved aside first,
     * then deleted).
     *
     * @param target the directory to create or replace
     * @param contents writes the files
     * @throws IOException when writing fails; the temporary directory is then deleted
     */
    static void replaceDirectory(Path target, Contents contents) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        String name = target.getFileName().toString();
        Path tmp = parent.resolve(name + ".tmp-" + randomSuffix());
        Files.createDirectory(tmp);
        boolean done = false;
        try {
            contents.write(tmp);
            syncTree(tmp);
            if (Files.exists(target)) {
                Path old = parent.resolve(name + ".tmp-old-" + randomSuffix());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(old);
            } else {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
            syncDirectory(parent);
            done = true;
        } finally {
            if (!done) {
                deleteTree(tmp);
            }
        }
    }

    private static String randomSuffix() {
        return Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
    }

    /**
     * @return complete checkpoints, oldest first
     * @throws IOException when the root cannot be listed
     */
    public List<Path> complete() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.isRegularFile(p.resolve(COMPLETE_MARKER)))
                    .forEach(out::add);
        }
        out.sort(Comparator.comparingLong(Checkpoints::stepOf));
        return out;
    }

    /**
     * @return the complete checkpoint with the highest step, if any
     * @throws IOException when the root cannot be listed
     */
    public Optional<Path> latest() throws IOException {
        List<Path> all = complete();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * Deletes all but the newest {@code keep} complete checkpoints. Each is first renamed
     * atomically to a temporary name, so a process killed while deleting never leaves a
     * half-deleted directory that still looks complete (the temporary one is deleted as a
     * leftover).
     *
     * @param keep how many to keep, positive
     * @throws IOException when deleting fails
     */
    public void prune(int keep) throws IOException {
        if (keep <= 0) {
            throw new IllegalArgumentException("keep must be positive, got " + keep);
        }
        List<Path> all = complete();
        for (int i = 0; i < all.size() - keep; i++) {
            Path dir = all.get(i);
            LOG.debug("deleting old checkpoint {}", dir);
            Path doomed = dir.resolveSibling(dir.getFileName() + ".tmp-old-" + randomSuffix());
            Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(doomed);
        }
    }

    /**
     * Deletes temporary directories left by interrupted writes.
     *
     * @throws IOException when deleting fails
     */
    public void deleteLeftovers() throws IOException {
        deleteLeftovers(root, PREFIX);
    }

    /**
     * Deletes the temporary siblings {@code <prefix>….tmp-…} that {@link #replaceDirectory} leaves
     * in {@code parent} when interrupted.
     *
     * @param parent the directory to clean (may be absent)
     * @param prefix the start of the names concerned
     * @throws IOException when deleting fails
     */
    static void deleteLeftovers(Path parent, String prefix) throws IOException {
        if (!Files.isDirectory(parent)) {
            return;
        }
        List<Path> stale = new ArrayList<>();
        try (Stream<Path> s = Files.list(parent)) {
            s.filter(p -> p.getFileName().toString().startsWith(prefix)
                            && p.getFileName().toString().contains(".tmp-"))
                    .forEach(stale::add);
        }
        for (Path p : stale) {
            LOG.info("deleting incomplete directory {}", p);
            deleteTree(p);
        }
    }

    /**
     * @param checkpoint a checkpoint directory
     * @return its step
     * @throws IllegalArgumentException when the name is not {@code checkpoint-<step>}
     */
    public static long stepOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a checkpoint directory name: " + checkpoint.getFileName());
        }
        return Long.parseLong(m.group(1));
    }

    /** Deletes a directory tree (no-op when absent). */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Forces every file of a tree, then its directories, to disk. */
    static void syncTree(Path dir) throws IOException {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    ch.force(true);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                if (exc != null) {
                    throw exc;
                }
                syncDirectory(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Forces a directory entry to disk where the platform allows it (not on Windows). */
    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            LOG.trace("cannot sync directory {}: {}", dir, e.toString());
        }
    }
}
