package dev.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A read-only collection of named tensors: a safetensors file, a sharded checkpoint, or the
 * weights of an ONNX model. Model loaders read from this interface, tensor by tensor, so that
 * weights can be streamed (and quantized) without holding a whole checkpoint in memory.
 *
 * <p>Implementations never hand a BF16 or I16 array to DJL: BF16 is converted to F32 (or F16 on
 * request) in Java, I16 is widened to I32.
 */
public interface TensorSource extends AutoCloseable {

    /** @return where the tensors come from (a file or directory), for messages */
    Path location();

    /** @return the tensor names, in storage order */
    List<String> names();

    /**
     * @param name a tensor name
     * @return whether the source holds that tensor
     */
    boolean contains(String name);

    /**
     * @param name a tensor name
     * @return the tensor's entry
     * @throws IllegalArgumentException naming the tensor and the source when it is absent
     */
    TensorInfo info(String name);

    /** @return the free-form string metadata (safetensors' {@code __metadata__}); may be empty */
    Map<String, String> metadata();

    /**
     * The tensor's bytes exactly as stored (little-endian), as a read-only buffer.
     *
     * @param name a tensor name
     * @return a read-only little-endian view of the bytes
     * @throws IOException when the bytes cannot be read
     */
    ByteBuffer rawBytes(String name) throws IOException;

    /**
     * Loads a tensor as an NDArray owned by {@code manager}. BF16 becomes F32, I16 becomes I32;
     * other types keep their type ({@link DType#djlType()}).
     *
     * @param name a tensor name
     * @param manager the manager that will own the array
     * @return the array
     * @throws IOException when the bytes cannot be read
     */
    default NDArray load(String name, NDManager manager) throws IOException {
        return load(name, manager, null);
    }

    /**
     * Loads a tensor, converting BF16 to the requested floating type.
     *
     * @param name a tensor name
     * @param manager the manager that will own the array
     * @param bf16Target {@link DataType#FLOAT32} or {@link DataType#FLOAT16} for BF16 tensors;
     *     {@code null} for the default (F32). Ignored for other dtypes.
     * @return the array
     * @throws IOException when the bytes cannot be read
     */
    NDArray load(String name, NDManager manager, DataType bf16Target) throws IOException;

    /**
     * Loads a floating tensor into a Java array as float32 (for small tensors and tests).
     *
     * @param name a tensor name
     * @return the values, row-major
     * @throws IOException when the bytes cannot be read
     * @throws IllegalArgumentException when the tensor is not floating or too large for an array
     */
    float[] loadFloats(String name) throws IOException;

    @Override
    void close() throws IOException;
}
