package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.TensorInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-parameter optimizer state (e.g. AdamW's {@code exp_avg} and {@code exp_avg_sq}) and the
 * update count, in a manager owned by this object. Arrays are created once and then updated in
 * place, so memory stays flat over a run.
 *
 * <p>A state holds either NDArray slots ({@link #slot}, e.g. {@link AdamW}) or host buffers
 * ({@link #hostSlot}, e.g. {@link BnbAdamW}'s 8-bit codes and block maxima), the latter kept in
 * the {@link StateStorage} given at construction (heap, off-heap or memory-mapped).
 *
 * <p>Saved as safetensors with tensors named {@code <parameter path>.<slot>} and the optimizer
 * name and step in the metadata; host buffers are saved byte for byte in their own type ({@code
 * U8} codes, {@code F32} values), with {@value #META_STORAGE} = {@code host} in the metadata.
 */
public final class OptimizerState implements AutoCloseable {

    /** Metadata key of the optimizer name. */
    public static final String META_OPTIMIZER = "optimizer";

    /** Metadata key of the update count. */
    public static final String META_STEP = "step";

    /** Metadata key marking a state of host buffers ({@code host}). */
    public static final String META_STORAGE = "storage";

    private static final Logger LOG = LoggerFactory.getLogger(OptimizerState.class);

    private final String optimizer;
    private final NDManager manager;
    private final StateStorage storage;
    private final Map<String, NDArray> arrays = new LinkedHashMap<>();
    private final Map<String, HostBuffer> host = new LinkedHashMap<>();
    private long step;

    /** A host state buffer: its element type and shape. */
    private record HostBuffer(DType dtype, long[] shape, ByteBuffer bytes) {}

    /**
     * A state whose host buffers (if any) live on the Java heap.
     *
     * @param optimizer the name of the optimizer the state belongs to
     * @param parent the manager whose sub-manager will own the state arrays
     */
    public OptimizerState(String optimizer, NDManager parent) {
        this(optimizer, parent, StateStorage.heap());
    }

    /**
     * A state for an optimizer, its host buffers in the optimizer's {@link
     * ParameterOptimizer#stateStorage()}.
     *
     * @param optimizer the optimizer
     * @param parent the manager whose sub-manager will own the state arrays
     */
    public OptimizerState(ParameterOptimizer optimizer, NDManager parent) {
        this(optimizer.name(), parent, optimizer.stateStorage());
    }

    /**
     * @param optimizer the name of the optimizer the state belongs to
     * @param parent the manager whose sub-manager will own the state arrays
     * @param storage where host buffers live
     */
    public OptimizerState(String optimizer, NDManager parent, StateStorage storage) {
        this.optimizer = optimizer;
        this.manager = parent.newSubManager();
        this.storage = java.util.Objects.requireNonNull(storage, "storage");
    }

    /** @return where host buffers live */
    public StateStorage storage() {
        return storage;
    }

    /** @return the number of updates made so far (during an update: including the current one) */
    public long step() {
        return step;
    }

    /** Starts an update: increments {@link #step()}. */
    public void beginStep() {
        step++;
    }

    /**
     * The state array of a parameter, created as zeros shaped like {@code like} on first use.
     *
     * @param path the parameter path
     * @param slot the slot name
     * @param like an array of the parameter's shape and type
     * @return the state array, to update in place
     */
    public NDArray slot(String path, String slot, NDArray like) {
        if (!host.isEmpty()) {
            throw new IllegalStateException("optimizer state of '" + optimizer + "' holds host buffers; NDArray slot '"
                    + key(path, slot) + "' cannot be mixed with them");
        }
        return arrays.computeIfAbsent(key(path, slot), k -> {
            NDArray z = manager.zeros(like.getShape(), like.getDataType(), like.getDevice());
            NDScope.unregister(z); // state outlives the step's scope
            return z;
        });
    }

    /**
     * A host state buffer of a parameter (little-endian, zero-filled when created), in this state's
     * {@link StateStorage}. A buffer loaded from a checkpoint must match the type and shape asked.
     *
     * @param path the parameter path
     * @param slot the slot name
     * @param dtype {@link DType#U8} or {@link DType#F32}
     * @param shape the dimensions
     * @return the buffer (position 0), to read and write with absolute indices
     * @throws IllegalStateException when a loaded buffer has another type or shape, or the state
     *     holds NDArray slots
     */
    public ByteBuffer hostSlot(String path, String slot, DType dtype, long[] shape) {
        if (dtype != DType.U8 && dtype != DType.F32) {
            throw new IllegalArgumentException("host optimizer state must be U8 or F32, got " + dtype);
        }
        String key = key(path, slot);
        HostBuffer b = host.get(key);
        if (b == null) {
            if (!arrays.isEmpty()) {
                throw new IllegalStateException("optimizer state of '" + optimizer + "' holds NDArray slots; host"
                        + " buffer '" + key + "' cannot be mixed with them");
            }
            b = new HostBuffer(dtype, shape.clone(), storage.allocate(key, dtype.byteSize() * count(shape)));
            host.put(key, b);
        } else if (b.dtype() != dtype || count(b.shape()) != count(shape)) {
            throw new IllegalStateException("optimizer state '" + key + "' is " + b.dtype() + " "
                    + Arrays.toString(b.shape()) + " but " + dtype + " " + Arrays.toString(shape)
                    + " is needed: the checkpoint belongs to another model or optimizer setting");
        }
        return b.bytes();
    }

    /**
     * @param path the parameter path
     * @param slot the slot name
     * @return whether the slot exists (NDArray or host buffer)
     */
    public boolean has(String path, String slot) {
        return arrays.containsKey(key(path, slot)) || host.containsKey(key(path, slot));
    }

    /** @return the bytes of every state array and host buffer (the optimizer's memory) */
    public long stateBytes() {
        long n = 0;
        for (NDArray a : arrays.values()) {
            n += a.size() * a.getDataType().getNumOfBytes();
        }
        for (HostBuffer b : host.values()) {
            n += b.bytes().capacity();
        }
        return n;
    }

    /** @return every state array by {@code path.slot}, unmodifiable */
    public Map<String, NDArray> arrays() {
        return Collections.unmodifiableMap(arrays);
    }

    /**
     * Writes the state atomically.
     *
     * @param file the target safetensors file
     * @throws IOException when writing fails
     */
    public void save(Path file) throws IOException {
        SafetensorsWriter w = SafetensorsWriter.create()
                .metadata(META_OPTIMIZER, optimizer)
                .metadata(META_STEP, Long.toString(step));
        arrays.forEach(w::add);
        if (!host.isEmpty()) {
            w.metadata(META_STORAGE, "host");
            host.forEach((k, b) -> w.add(k, b.dtype(), b.shape(), b.bytes().duplicate().clear()));
        }
        w.write(file);
        LOG.debug("optimizer state of '{}': {} bytes in {} tensors ({})", optimizer, stateBytes(),
                arrays.size() + host.size(), storage);
    }

    /**
     * Replaces this state with a saved one.
     *
     * @param file a file written by {@link #save}
     * @throws IOException when reading fails
     * @throws IllegalStateException when the file belongs to another optimizer
     */
    public void load(Path file) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String saved = f.metadata().get(META_OPTIMIZER);
            if (!optimizer.equals(saved)) {
                throw new IllegalStateException("optimizer state " + file + " was written by '" + saved
                        + "', this run uses '" + optimizer + "'");
            }
            String savedStep = f.metadata().get(META_STEP);
            if (savedStep == null) {
                throw new IllegalStateException("optimizer state " + file + " has no '" + META_STEP
                        + "' in its metadata");
            }
            arrays.values().forEach(NDArray::close);
            arrays.clear();
            releaseHost();
            if ("host".equals(f.metadata().get(META_STORAGE))) {
                for (String name : f.names()) {
                    TensorInfo t = f.info(name);
                    if (t.dtype() != DType.U8 && t.dtype() != DType.F32) {
                        throw new IllegalStateException("optimizer state " + file + ": tensor '" + name + "' is "
                                + t.dtype() + ", host state is U8 or F32");
                    }
                    ByteBuffer b = storage.allocate(name, t.byteSize());
                    b.put(f.rawBytes(name)).clear();
                    host.put(name, new HostBuffer(t.dtype(), t.shape(), b));
                }
                step = Long.parseLong(savedStep);
                return;
            }
            try (NDManager scratch = manager.newSubManager()) {
                for (String name : f.names()) {
                    // a copy, so that no state array keeps the checkpoint file mapped
                    NDArray a = f.load(name, scratch).duplicate();
                    a.attach(manager);
                    NDScope.unregister(a);
                    arrays.put(name, a);
                }
            }
            step = Long.parseLong(savedStep);
        }
    }

    private static String key(String path, String slot) {
        return path + "." + slot;
    }

    private void releaseHost() {
        host.values().forEach(b -> StateStorage.release(b.bytes()));
        host.clear();
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public void close() {
        arrays.clear();
        releaseHost();
        manager.close();
    }
}
