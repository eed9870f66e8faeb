package dev.peft4j.core.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.peft.AdapterFiles;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The saved tensors of an adapter directory as a method's {@link TensorMergeRule} reads them: the
 * open {@code adapter_model.safetensors}, and the keys whose tensor replaces the base tensor of the
 * same name as it is (trained biases, {@code modules_to_save} copies), the part every method's
 * rule shares. The method registers what it recognises ({@link #replace}) and handles the rest.
 */
public final class AdapterTensors implements Closeable {

    private final Path dir;
    private final TensorSource weights;
    private final Map<String, String> replaced = new LinkedHashMap<>();

    private AdapterTensors(Path dir, TensorSource weights) {
        this.dir = dir;
        this.weights = weights;
    }

    /**
     * @param dir an adapter directory
     * @return its tensors; close them when done
     * @throws IOException when the weights file cannot be read
     */
    public static AdapterTensors open(Path dir) throws IOException {
        return new AdapterTensors(dir, TensorSources.open(dir.resolve(AdapterFiles.WEIGHTS_FILE)));
    }

    /** @return the adapter directory */
    public Path dir() {
        return dir;
    }

    /** @return the adapter's weights file */
    public TensorSource weights() {
        return weights;
    }

    /**
     * Registers a saved tensor that replaces a base tensor as it is.
     *
     * @param baseName the base tensor's name
     * @param key the adapter's key
     */
    public void replace(String baseName, String key) {
        replaced.put(baseName, key);
    }

    /** @return base tensor name → adapter key of the replacing tensors, in registration order */
    public Map<String, String> replaced() {
        return Collections.unmodifiableMap(replaced);
    }

    /**
     * @param base the base checkpoint
     * @param name the base tensor an adapter key targets
     * @param key the adapter key (for the message)
     * @return the base tensor's shape
     * @throws IllegalArgumentException naming the directory, key and tensor when the base lacks it
     */
    public long[] baseShape(TensorSource base, String name, String key) {
        if (!base.contains(name)) {
            throw new IllegalArgumentException(dir + ": adapter key '" + key + "' targets '" + name
                    + "', which the base " + base.location() + " does not have");
        }
        return base.info(name).shape();
    }

    /**
     * Checks that every replacing tensor exists in the base with the same shape.
     *
     * @param base the base checkpoint
     * @throws IllegalArgumentException naming the key and tensor otherwise
     */
    public void checkReplaced(TensorSource base) {
        for (Map.Entry<String, String> e : replaced.entrySet()) {
            long[] w = baseShape(base, e.getKey(), e.getValue());
            long[] r = weights.info(e.getValue()).shape();
            if (!Arrays.equals(w, r)) {
                throw new IllegalArgumentException(dir + ": " + e.getValue() + " has shape " + Arrays.toString(r)
                        + " but base tensor '" + e.getKey() + "' of " + base.location() + " has "
                        + Arrays.toString(w));
            }
        }
    }

    /**
     * @param name a base tensor's name
     * @param manager the manager of the result
     * @return its replacement in float32, or null when no saved tensor replaces it
     * @throws IOException when the tensor cannot be read
     */
    public NDArray replacement(String name, NDManager manager) throws IOException {
        String key = replaced.get(name);
        return key == null ? null : float32(key, manager);
    }

    /**
     * @param key an adapter key
     * @param manager the manager of the result
     * @return the tensor in float32
     * @throws IOException when it cannot be read
     */
    public NDArray float32(String key, NDManager manager) throws IOException {
        NDArray v = weights.load(key, manager);
        return v.getDataType() == DataType.FLOAT32 ? v : v.toType(DataType.FLOAT32, false);
    }

    /**
     * @param name a base tensor the caller's rule does not change
     * @return the exception to throw for it
     */
    public IllegalArgumentException notChanged(String name) {
        return new IllegalArgumentException(dir + " does not change '" + name + "'");
    }

    @Override
    public void close() throws IOException {
        weights.close();
    }
}
