package dev.peft4j.core.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Where an optimizer keeps the host-side state buffers of an {@link OptimizerState} ({@link
 * OptimizerState#hostSlot}): on the Java heap (the default), in off-heap direct memory that the
 * operating system may page out, or in memory-mapped files ("paged" optimizers, bitsandbytes'
 * {@code is_paged=True}). Buffers are little-endian and zero-filled.
 *
 * <p>Mapped storage creates one file per buffer in the given directory and deletes it right after
 * mapping (the mapping stays valid; nothing is left behind if the process dies), so the state's
 * pages are backed by that file system instead of swap: the kernel writes cold pages out and reads
 * them back when the optimizer touches the parameter again.
 */
public final class StateStorage {

    /** The kinds of storage. */
    public enum Kind {
        /** {@code ByteBuffer.allocate}: Java heap. */
        HEAP,
        /** {@code ByteBuffer.allocateDirect}: native memory outside the Java heap. */
        OFF_HEAP,
        /** Memory-mapped temporary files in a directory. */
        MAPPED
    }

    private static final StateStorage HEAP = new StateStorage(Kind.HEAP, null);
    private static final StateStorage OFF_HEAP = new StateStorage(Kind.OFF_HEAP, null);

    private final Kind kind;
    private final Path directory;

    private StateStorage(Kind kind, Path directory) {
        this.kind = kind;
        this.directory = directory;
    }

    /** @return storage on the Java heap */
    public static StateStorage heap() {
        return HEAP;
    }

    /** @return storage in direct (off-heap) buffers */
    public static StateStorage offHeap() {
        return OFF_HEAP;
    }

    /**
     * @param directory where the backing files are created (it is created when missing)
     * @return storage in memory-mapped files
     */
    public static StateStorage mapped(Path directory) {
        return new StateStorage(Kind.MAPPED, Objects.requireNonNull(directory, "directory"));
    }

    /** @return the kind */
    public Kind kind() {
        return kind;
    }

    /** @return the directory of mapped storage, or null */
    public Path directory() {
        return directory;
    }

    /**
     * Allocates a zero-filled little-endian buffer.
     *
     * @param name the state tensor's name (for messages)
     * @param bytes its size
     * @return the buffer
     * @throws IllegalArgumentException when it exceeds a Java buffer (2 GiB)
     * @throws UncheckedIOException when a mapped file cannot be created
     */
    ByteBuffer allocate(String name, long bytes) {
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("optimizer state '" + name + "' needs " + bytes
                    + " bytes, more than one Java buffer holds (2 GiB)");
        }
        int size = (int) bytes;
        ByteBuffer b = switch (kind) {
            case HEAP -> ByteBuffer.allocate(size);
            case OFF_HEAP -> ByteBuffer.allocateDirect(size);
            case MAPPED -> map(name, size);
        };
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    private ByteBuffer map(String name, int size) {
        try {
            Files.createDirectories(directory);
            Path file = Files.createTempFile(directory, "peft4j-optim-", ".state");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                // a fresh file's pages read as zeros; the mapping outlives the channel
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, Math.max(size, 1)).limit(size);
            } finally {
                try {
                    Files.delete(file);
                } catch (IOException e) {
                    file.toFile().deleteOnExit(); // platforms that cannot delete a mapped file
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the paged state of '" + name + "' in " + directory, e);
        }
    }

    /**
     * Frees an off-heap or mapped buffer now instead of at garbage collection (best effort; the
     * buffer must not be used afterwards).
     *
     * @param buffer a buffer from {@link #allocate}
     */
    static void release(ByteBuffer buffer) {
        if (buffer != null && buffer.isDirect()) {
            Cleaner.clean(buffer);
        }
    }

    @Override
    public String toString() {
        return kind == Kind.MAPPED ? "mapped(" + directory + ")" : kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** {@code sun.misc.Unsafe.invokeCleaner}, when available. */
    private static final class Cleaner {
        private static final Object UNSAFE;
        private static final Method INVOKE_CLEANER;

        static {
            Object unsafe = null;
            Method m = null;
            try {
                Class<?> c = Class.forName("sun.misc.Unsafe");
                Field f = c.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                unsafe = f.get(null);
                m = c.getMethod("invokeCleaner", ByteBuffer.class);
            } catch (ReflectiveOperationException | RuntimeException e) {
                unsafe = null;
                m = null;
            }
            UNSAFE = unsafe;
            INVOKE_CLEANER = m;
        }

        static void clean(ByteBuffer buffer) {
            if (INVOKE_CLEANER == null) {
                return;
            }
            try {
                INVOKE_CLEANER.invoke(UNSAFE, buffer);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // a duplicate or slice cannot be cleaned: the garbage collector frees it
            }
        }
    }
}
