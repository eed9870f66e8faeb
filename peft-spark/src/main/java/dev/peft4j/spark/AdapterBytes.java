package dev.peft4j.spark;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The files of a flat directory (an adapter: {@code adapter_config.json}, {@code
 * adapter_model.safetensors}, …) as bytes, to ship between driver and executors.
 *
 * @param files file name to contents, sorted by name
 */
public record AdapterBytes(Map<String, byte[]> files) implements Serializable {

    /** Copies the map. */
    public AdapterBytes {
        files = new TreeMap<>(Objects.requireNonNull(files, "files"));
    }

    /**
     * @param dir a directory of regular files (sub-directories are not read)
     * @return its files
     * @throws IOException when reading fails
     */
    public static AdapterBytes read(Path dir) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    out.put(p.getFileName().toString(), Files.readAllBytes(p));
                }
            }
        }
        if (out.isEmpty()) {
            throw new IOException(dir + " holds no files");
        }
        return new AdapterBytes(out);
    }

    /**
     * @return the SHA-256 of the names and contents, in hex: equal digests, equal adapters
     */
    public String digest() {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                md.update(e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(e.getValue());
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Writes the files into an existing, empty directory.
     *
     * @param dir the directory
     * @throws IOException when writing fails
     */
    public void writeTo(Path dir) throws IOException {
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Files.write(dir.resolve(e.getKey()), e.getValue());
        }
    }

    /**
     * Writes the files into a new temporary directory.
     *
     * @return the directory (the caller deletes it)
     */
    Path toTempDir() {
        try {
            Path dir = Files.createTempDirectory("peft4j-adapter-");
            writeTo(dir);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes the files as directory {@code target}, atomically: into a sibling temporary
     * directory, then renamed, so that a crash never leaves a partial adapter at {@code target}.
     *
     * @param target the directory to produce: absent or empty
     * @throws IOException when writing fails or {@code target} holds files
     */
    public void writeAtomically(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            try (Stream<Path> s = Files.list(abs)) {
                if (s.findAny().isPresent()) {
                    throw new java.nio.file.FileAlreadyExistsException(abs.toString(), null,
                            "output directory is not empty");
                }
            }
            Files.delete(abs);
        }
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempDirectory(abs.getParent(), abs.getFileName() + ".tmp-");
        try {
            writeTo(tmp);
            Files.move(tmp, abs, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            Dirs.deleteQuietly(tmp);
            throw e;
        }
    }
}
