package dev.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link TensorSource} over NDArrays already in memory (a state dict built in code). Loading
 * returns a copy owned by the caller's manager; the source never closes the arrays it was given.
 */
public final class ArrayTensorSource implements TensorSource {

    private final Path location;
    private final Map<String, NDArray> tensors;
    private final Map<String, TensorInfo> infos = new LinkedHashMap<>();
    private final Map<String, String> metadata;

    /**
     * @param location a name for messages, e.g. {@code Path.of("<memory>")}
     * @param tensors name → array, in order; arrays must be of a type {@link DType#fromDjl} knows
     * @param metadata string metadata, may be empty
     */
    public ArrayTensorSource(Path location, Map<String, NDArray> tensors, Map<String, String> metadata) {
        this.location = Objects.requireNonNull(location, "location");
        this.tensors = new LinkedHashMap<>(tensors);
        this.metadata = Map.copyOf(metadata);
        long offset = 0;
        for (Map.Entry<String, NDArray> e : this.tensors.entrySet()) {
            NDArray a = Objects.requireNonNull(e.getValue(), "tensor '" + e.getKey() + "' is null");
            DType t = DType.fromDjl(a.getDataType());
            long bytes = a.size() * t.byteSize();
            infos.put(e.getKey(), new TensorInfo(e.getKey(), t, a.getShape().getShape(), offset, offset + bytes));
            offset += bytes;
        }
    }

    /**
     * @param tensors name → array
     * @return a source named {@code <memory>} without metadata
     */
    public static ArrayTensorSource of(Map<String, NDArray> tensors) {
        return new ArrayTensorSource(Path.of("<memory>"), tensors, Map.of());
    }

    @Override
    public Path location() {
        return location;
    }

    @Override
    public List<String> names() {
        return Collections.unmodifiableList(new ArrayList<>(tensors.keySet()));
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo i = infos.get(name);
        if (i == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' in " + location);
        }
        return i;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public ByteBuffer rawBytes(String name) {
        info(name);
        return tensors.get(name).toByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public NDArray load(String name, NDManager manager, DataType bf16Target) {
        info(name);
        NDArray copy = tensors.get(name).toDevice(manager.getDevice(), true);
        copy.attach(manager);
        return copy;
    }

    @Override
    public float[] loadFloats(String name) {
        TensorInfo i = info(name);
        if (!i.dtype().isFloating()) {
            throw new IllegalArgumentException("tensor '" + name + "' in " + location + " is " + i.dtype() + ", not floating");
        }
        NDArray t = tensors.get(name);
        try (NDManager scratch = t.getManager().newSubManager()) {
            NDArray f = t.toType(DataType.FLOAT32, true);
            f.attach(scratch);
            return f.toFloatArray();
        }
    }

    @Override
    public void close() {}
}
