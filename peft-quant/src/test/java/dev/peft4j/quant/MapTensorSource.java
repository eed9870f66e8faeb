package dev.peft4j.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An in-memory {@link TensorSource} over state-dict entries, for tests. */
final class MapTensorSource implements TensorSource {

    private final Map<String, StateTensor> tensors;
    private final Map<String, TensorInfo> infos = new LinkedHashMap<>();

    MapTensorSource(Map<String, StateTensor> tensors) {
        this.tensors = new LinkedHashMap<>(tensors);
        long offset = 0;
        for (Map.Entry<String, StateTensor> e : this.tensors.entrySet()) {
            long end = offset + e.getValue().data().length;
            infos.put(
                    e.getKey(),
                    new TensorInfo(
                            e.getKey(), e.getValue().dtype(), e.getValue().shape(), offset, end));
            offset = end;
        }
    }

    @Override
    public Path location() {
        return Path.of("memory");
    }

    @Override
    public List<String> names() {
        return new ArrayList<>(tensors.keySet());
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = infos.get(name);
        if (info == null) {
            throw new IllegalArgumentException("no tensor " + name + " in memory");
        }
        return info;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public ByteBuffer rawBytes(String name) {
        info(name);
        return ByteBuffer.wrap(tensors.get(name).data())
                .order(ByteOrder.LITTLE_ENDIAN)
                .asReadOnlyBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public NDArray load(String name, NDManager manager, DataType bf16Target) {
        StateTensor t = tensors.get(name);
        info(name);
        if (t.dtype() == DType.BF16 || t.dtype() == DType.I16) {
            throw new UnsupportedOperationException("test source: no BF16/I16");
        }
        byte[] data = t.data();
        ByteBuffer buf = ByteBuffer.allocateDirect(data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(data).flip();
        return manager.create(buf, new Shape(t.shape()), t.dtype().djlType());
    }

    @Override
    public float[] loadFloats(String name) {
        info(name);
        return tensors.get(name).toFloats();
    }

    @Override
    public void close() {}
}
