package dev.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Objects;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@code .safetensors} file, memory-mapped.
 *
 * <p>{@link #open(Path)} reads and validates the header only (see {@link SafetensorsException} for
 * what is rejected); tensor data is mapped tensor by tensor when loaded, so files and offsets past
 * 2 GB work. F64, F32, F16, I64, I32, I8, U8 and BOOL tensors become NDArrays that wrap a
 * copy-on-write ({@link FileChannel.MapMode#PRIVATE}) mapping of the file: no copy through the
 * Java heap, and in-place operations on the array change private pages, never the file. A tensor
 * whose file offset is not aligned to its element size is copied into an aligned direct buffer.
 * BF16 is converted to F32 (or F16 on request) and I16 widened to I32, in Java, from positional
 * reads of 4 MiB (so is {@link #loadFloats}): the stored bytes never become resident in this
 * process (a mapping would stay resident until the garbage collector unmaps it, which made a
 * quantize-on-load of a BF16 checkpoint hold the whole file).
 *
 * <p>Java only maps a file privately through a channel opened for writing (the file is never
 * written). When the file cannot be opened for writing (read-only file or file system), tensors
 * are read into new direct buffers instead; {@link #isZeroCopy()} tells which mode is in use.
 *
 * <p>A tensor larger than 2 GiB (after conversion) cannot live in one Java buffer: it is loaded in
 * chunks of at most 2 GiB that are concatenated by the engine, which briefly needs the tensor's
 * size twice in native memory. {@link #rawBytes} and {@link #loadFloats} are limited to 2 GiB.
 *
 * <p>Arrays stay valid after the file is closed: each holds a reference to its mapping. Views of a
 * zero-copy array (reshape, transpose, get) share its memory and must not outlive it, as with any
 * DJL array created from a buffer. Instances are safe for concurrent reads.
 */
public final class SafetensorsFile implements TensorSource {

    private static final Logger LOG = LoggerFactory.getLogger(SafetensorsFile.class);

    /** Largest buffer handed to DJL at once: the limit of a Java buffer. */
    static final long MAX_CHUNK_BYTES = Integer.MAX_VALUE - 15;

    /** Bytes read at once when a tensor is converted in Java (BF16, I16, {@link #loadFloats}). */
    static final int READ_BYTES = 4 << 20;

    private final Path file;
    private final FileChannel channel;
    private final boolean writable;
    private final SafetensorsHeader header;
    private final Map<String, TensorInfo> byName;
    private final List<String> names;
    private long chunkBytes = MAX_CHUNK_BYTES;
    private volatile boolean closed;

    private SafetensorsFile(
            Path file, FileChannel channel, boolean writable, SafetensorsHeader header) {
        this.file = file;
        this.channel = channel;
        this.writable = writable;
        this.header = header;
        Map<String, TensorInfo> map = new LinkedHashMap<>();
        List<String> list = new ArrayList<>();
        for (TensorInfo t : header.tensors()) {
            map.put(t.name(), t);
            list.add(t.name());
        }
        this.byName = Collections.unmodifiableMap(map);
        this.names = Collections.unmodifiableList(list);
    }

    /**
     * Opens and validates a safetensors file.
     *
     * @param file the {@code .safetensors} file
     * @return the open file; close it when done
     * @throws SafetensorsException when the file is malformed
     * @throws IOException when it cannot be read
     */
    public static SafetensorsFile open(Path file) throws IOException {
        return open(Objects.requireNonNull(file, "file"), true);
    }

    /** Opens the file; {@code zeroCopy=false} forces the copying mode (for tests). */
    static SafetensorsFile open(Path file, boolean zeroCopy) throws IOException {
        FileChannel channel = null;
        boolean writable = false;
        if (zeroCopy) {
            try {
                channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
                writable = true;
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                LOG.debug(
                        "{} is not writable ({}); tensors will be copied, not mapped",
                        file,
                        e.toString());
            }
        }
        if (channel == null) {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        }
        try {
            return new SafetensorsFile(
                    file, channel, writable, SafetensorsHeader.read(file, channel));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Sets the chunk size for tensors too large for one buffer (tests use small values). */
    void chunkBytes(long bytes) {
        this.chunkBytes = bytes;
    }

    /** @return whether loads wrap copy-on-write mappings of the file rather than copies */
    public boolean isZeroCopy() {
        return writable;
    }

    /** @return the absolute file offset of the data section (8 + header length) */
    public long dataStart() {
        return header.dataStart();
    }

    @Override
    public Path location() {
        return file;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = byName.get(name);
        if (info == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' in " + file);
        }
        return info;
    }

    @Override
    public Map<String, String> metadata() {
        return header.metadata();
    }

    @Override
    public ByteBuffer rawBytes(String name) throws IOException {
        TensorInfo t = info(name);
        checkOpen();
        if (t.byteSize() > MAX_CHUNK_BYTES) {
            throw new IOException(
                    file
                            + ": tensor '"
                            + name
                            + "' is "
                            + t.byteSize()
                            + " bytes, more than a Java buffer holds (2 GiB); load it as an"
                            + " NDArray");
        }
        return channel.map(
                        FileChannel.MapMode.READ_ONLY, header.dataStart() + t.begin(), t.byteSize())
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public NDArray load(String name, NDManager manager, DataType bf16Target) throws IOException {
        TensorInfo t = info(name);
        DataType target = TensorDecoder.targetType(t.dtype(), bf16Target);
        checkOpen();
        long count = t.numel();
        if (count == 0) {
            return manager.zeros(t.djlShape(), target);
        }
        long perChunk = Math.max(1, chunkBytes / target.getNumOfBytes());
        if (count <= perChunk) {
            if (!t.dtype().isZeroCopy()) {
                return loadConverted(t, 0, count, t.djlShape(), target, manager);
            }
            return TensorDecoder.decode(
                    region(t, 0, count), t.dtype(), t.djlShape(), target, manager);
        }
        return loadChunked(t, target, manager, perChunk);
    }

    private NDArray loadChunked(TensorInfo t, DataType target, NDManager manager, long perChunk)
            throws IOException {
        long count = t.numel();
        LOG.debug(
                "{}: loading '{}' ({} elements) in chunks of {}", file, t.name(), count, perChunk);
        try (NDManager scratch = manager.newSubManager()) {
            NDList parts = new NDList();
            for (long start = 0; start < count; start += perChunk) {
                long n = Math.min(perChunk, count - start);
                parts.add(t.dtype().isZeroCopy()
                        ? TensorDecoder.decode(region(t, start, n), t.dtype(), new Shape(n), target, scratch)
                        : loadConverted(t, start, n, new Shape(n), target, scratch));
            }
            NDArray whole = NDArrays.concat(parts, 0).reshape(t.djlShape());
            whole.attach(manager);
            return whole;
        }
    }

    /** Maps (or copies) elements [start, start+count) of a zero-copy tensor as a writable direct buffer. */
    private ByteBuffer region(TensorInfo t, long start, long count) throws IOException {
        int size = t.dtype().byteSize();
        long position = header.dataStart() + t.begin() + start * size;
        long length = count * size;
        if (t.dtype().isZeroCopy() && writable) {
            return channel.map(FileChannel.MapMode.PRIVATE, position, length);
        }
        ByteBuffer copy = TensorDecoder.allocate((int) length);
        while (copy.hasRemaining()) {
            if (channel.read(copy, position + copy.position()) < 0) {
                throw new SafetensorsException(file, t.name(), "unexpected end of file", null);
            }
        }
        return copy.flip();
    }

    @Override
    public float[] loadFloats(String name) throws IOException {
        TensorInfo t = info(name);
        if (!t.dtype().isFloating()) {
            throw new IllegalArgumentException(
                    file + ": tensor '" + name + "' is " + t.dtype() + ", not floating");
        }
        if (t.numel() > Integer.MAX_VALUE - 8 || t.byteSize() > MAX_CHUNK_BYTES) {
            throw new IllegalArgumentException(
                    file + ": tensor '" + name + "' is too large for a float[]");
        }
        checkOpen();
        int count = (int) t.numel();
        float[] out = new float[count];
        int size = t.dtype().byteSize();
        int perRead = READ_BYTES / size;
        ByteBuffer chunk = ByteBuffer.allocate(perRead * size);
        for (int done = 0; done < count; done += perRead) {
            int n = Math.min(perRead, count - done);
            readFully(chunk, t, done, n);
            TensorDecoder.toFloats(chunk, t.dtype(), out, done, n);
        }
        return out;
    }

    /**
     * Reads elements {@code [start, start + n)} of a tensor into {@code chunk} (cleared, then
     * flipped). Positional reads keep the file's pages out of this process's resident set, unlike a
     * mapping, which stays resident until the garbage collector unmaps it.
     */
    private void readFully(ByteBuffer chunk, TensorInfo t, long start, int n) throws IOException {
        int size = t.dtype().byteSize();
        long position = header.dataStart() + t.begin() + start * size;
        chunk.clear().limit(n * size);
        while (chunk.hasRemaining()) {
            if (channel.read(chunk, position + chunk.position()) < 0) {
                throw new SafetensorsException(file, t.name(), "unexpected end of file", null);
            }
        }
        chunk.flip();
    }

    /** BF16 and I16 are converted chunk by chunk into the decoded buffer. */
    private NDArray loadConverted(TensorInfo t, long start, long count, Shape shape, DataType target,
            NDManager manager) throws IOException {
        int size = t.dtype().byteSize();
        int perRead = READ_BYTES / size;
        ByteBuffer dst = TensorDecoder.allocate(Math.toIntExact(count * target.getNumOfBytes()));
        ByteBuffer chunk = ByteBuffer.allocate(perRead * size);
        for (long done = 0; done < count; done += perRead) {
            int n = (int) Math.min(perRead, count - done);
            readFully(chunk, t, start + done, n);
            TensorDecoder.convertInto(chunk, t.dtype(), dst, (int) done, n, target);
        }
        return manager.create(dst, shape, target);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(file + " is closed");
        }
    }

    /** Closes the file. Arrays already loaded stay valid. */
    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + file + ", " + names.size() + " tensors]";
    }
}
