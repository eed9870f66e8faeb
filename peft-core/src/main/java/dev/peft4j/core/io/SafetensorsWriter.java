package dev.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Objects;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a safetensors file: 8-byte little-endian header length, the JSON header padded with
 * spaces to a multiple of 8, then the tensors contiguously in the order they were added.
 *
 * <pre>{@code
 * SafetensorsWriter.create()
 *         .metadata("format", "pt")
 *         .add("weight", array)
 *         .add("packed", DType.BF16, new long[] {4, 8}, bf16Bytes)
 *         .write(path);
 * }</pre>
 *
 * <p>Nothing is copied when tensors are added: NDArrays must stay open and buffers unchanged until
 * {@link #write} returns. NDArrays are read with {@link NDArray#toByteBuffer()} (in slices when
 * larger than 1 GiB). Raw bytes may be of any {@link DType}, including BF16 and I16, which no
 * NDArray can hold. The file is written to a temporary file in the target directory and moved
 * into place atomically; on failure the temporary file is deleted and the target is untouched.
 * Instances are not thread-safe.
 */
public final class SafetensorsWriter {

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    /** Largest slice of an NDArray copied to the heap at once. */
    static final long SLICE_BYTES = 1L << 30;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<Entry> entries = new ArrayList<>();
    private final Set<String> names = new LinkedHashSet<>();
    private long sliceBytes = SLICE_BYTES;

    private record Entry(
            String name, DType dtype, long[] shape, long size, ByteBuffer bytes, NDArray array) {}

    private SafetensorsWriter() {}

    /** @return an empty writer */
    public static SafetensorsWriter create() {
        return new SafetensorsWriter();
    }

    /**
     * Adds all entries of {@code map} to the {@code __metadata__}.
     *
     * @param map string keys and values
     * @return this writer
     */
    public SafetensorsWriter metadata(Map<String, String> map) {
        map.forEach(this::metadata);
        return this;
    }

    /**
     * Adds one {@code __metadata__} entry.
     *
     * @param key the key
     * @param value the value
     * @return this writer
     */
    public SafetensorsWriter metadata(String key, String value) {
        if (key == null || value == null) {
            throw new IllegalArgumentException("metadata keys and values must not be null");
        }
        metadata.put(key, value);
        return this;
    }

    /**
     * Adds an NDArray, stored with the dtype of its DJL type ({@link DType#fromDjl}).
     *
     * @param name the tensor name, unique in the file
     * @param array the array; must stay open until {@link #write} returns
     * @return this writer
     * @throws IllegalArgumentException for a bad or duplicate name or an unstorable type
     */
    public SafetensorsWriter add(String name, NDArray array) {
        DType dtype = DType.fromDjl(array.getDataType());
        long[] shape = array.getShape().getShape();
        return add(new Entry(name, dtype, shape, byteSize(name, dtype, shape), null, array));
    }

    /**
     * Adds a tensor from its little-endian bytes (the buffer's remaining bytes).
     *
     * @param name the tensor name, unique in the file
     * @param dtype the element type
     * @param shape the dimensions (empty for a scalar)
     * @param bytes exactly shape × dtype-size bytes; must not change until {@link #write} returns
     * @return this writer
     * @throws IllegalArgumentException for a bad or duplicate name, a bad shape, or a byte count
     *     that does not match the shape
     */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, ByteBuffer bytes) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(bytes, "bytes");
        long size = byteSize(name, dtype, shape);
        if (bytes.remaining() != size) {
            throw new IllegalArgumentException(
                    "tensor '"
                            + name
                            + "': "
                            + bytes.remaining()
                            + " bytes given but shape "
                            + Arrays.toString(shape)
                            + " of "
                            + dtype
                            + " needs "
                            + size);
        }
        return add(new Entry(name, dtype, shape.clone(), size, bytes.duplicate(), null));
    }

    private SafetensorsWriter add(Entry entry) {
        String name = entry.name();
        if (name == null || name.isEmpty() || SafetensorsHeader.METADATA_KEY.equals(name)) {
            throw new IllegalArgumentException("invalid tensor name '" + name + "'");
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        }
        entries.add(entry);
        return this;
    }

    private static long byteSize(String name, DType dtype, long[] shape) {
        long n = dtype.byteSize();
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(
                        "tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(
                        "tensor '" + name + "': shape " + Arrays.toString(shape) + " is too large",
                        e);
            }
        }
        return n;
    }

    /** Sets the NDArray slice size (tests use small values). */
    void sliceBytes(long bytes) {
        this.sliceBytes = bytes;
    }

    /**
     * Writes the file atomically, replacing an existing one.
     *
     * @param file the target
     * @throws IOException when writing fails (the target is then unchanged)
     */
    public void write(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        ByteBuffer header = header();
        Path dir = file.toAbsolutePath().getParent();
        Path tmp =
                dir.resolve(
                        "."
                                + file.getFileName()
                                + "."
                                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36)
                                + ".tmp");
        boolean done = false;
        try {
            try (FileChannel out =
                    FileChannel.open(
                            tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writeFully(out, header);
                for (Entry e : entries) {
                    writeData(out, e);
                }
                out.force(true);
            }
            Files.move(
                    tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private ByteBuffer header() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + e.size());
            offset += e.size();
        }
        byte[] json = JSON.writeValueAsBytes(root);
        int padded = (json.length + 7) & ~7;
        if (padded > SafetensorsHeader.MAX_HEADER_BYTES) {
            throw new IOException(
                    "safetensors header of "
                            + padded
                            + " bytes exceeds the limit of "
                            + SafetensorsHeader.MAX_HEADER_BYTES);
        }
        ByteBuffer buf = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded).put(json);
        while (buf.hasRemaining()) {
            buf.put((byte) ' ');
        }
        return buf.flip();
    }

    private void writeData(FileChannel out, Entry e) throws IOException {
        if (e.bytes() != null) {
            writeFully(out, e.bytes().duplicate());
            return;
        }
        NDArray array = e.array();
        if (e.size() <= sliceBytes) {
            writeFully(out, arrayBytes(array, e.dtype(), e.size(), e.name()));
            return;
        }
        long count = e.size() / e.dtype().byteSize();
        long perSlice = Math.max(1, sliceBytes / e.dtype().byteSize());
        try (NDArray flat = array.reshape(-1)) {
            for (long start = 0; start < count; start += perSlice) {
                long end = Math.min(count, start + perSlice);
                try (NDArray slice = flat.get(new NDIndex("{}:{}", start, end))) {
                    long expected = (end - start) * e.dtype().byteSize();
                    writeFully(out, arrayBytes(slice, e.dtype(), expected, e.name()));
                }
            }
        }
    }

    private static ByteBuffer arrayBytes(NDArray array, DType dtype, long expected, String name) {
        ByteBuffer bytes = array.toByteBuffer();
        if (bytes.remaining() != expected) {
            throw new IllegalStateException(
                    "tensor '"
                            + name
                            + "': the array gave "
                            + bytes.remaining()
                            + " bytes, expected "
                            + expected);
        }
        return littleEndian(bytes, dtype);
    }

    /** DJL returns native-order bytes; safetensors stores little-endian. */
    private static ByteBuffer littleEndian(ByteBuffer bytes, DType dtype) {
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || dtype.byteSize() == 1) {
            return bytes;
        }
        ByteBuffer in = bytes.duplicate().order(ByteOrder.nativeOrder());
        ByteBuffer le = ByteBuffer.allocate(in.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype.byteSize()) {
            case 8 -> le.asLongBuffer().put(in.asLongBuffer());
            case 4 -> le.asIntBuffer().put(in.asIntBuffer());
            default -> le.asShortBuffer().put(in.asShortBuffer());
        }
        return le;
    }

    private static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }
}
