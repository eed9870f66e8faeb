package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-parameter optimizer state (e.g. AdamW's {@code exp_avg} and {@code exp_avg_sq}) and the
 * update count, in a manager owned by this object. Arrays are created once and then updated in
 * place, so memory stays flat over a run.
 *
 * <p>Saved as safetensors with tensors named {@code <parameter path>.<slot>} and the optimizer
 * name and step in the metadata.
 */
public final class OptimizerState implements AutoCloseable {

    /** Metadata key of the optimizer name. */
    public static final String META_OPTIMIZER = "optimizer";

    /** Metadata key of the update count. */
    public static final String META_STEP = "step";

    private final String optimizer;
    private final NDManager manager;
    private final Map<String, NDArray> arrays = new LinkedHashMap<>();
    private long step;

    /**
     * @param optimizer the name of the optimizer the state belongs to
     * @param parent the manager whose sub-manager will own the state arrays
     */
    public OptimizerState(String optimizer, NDManager parent) {
        this.optimizer = optimizer;
        this.manager = parent.newSubManager();
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
        return arrays.computeIfAbsent(key(path, slot), k -> {
            NDArray z = manager.zeros(like.getShape(), like.getDataType(), like.getDevice());
            NDScope.unregister(z); // state outlives the step's scope
            return z;
        });
    }

    /**
     * @param path the parameter path
     * @param slot the slot name
     * @return whether the slot exists
     */
    public boolean has(String path, String slot) {
        return arrays.containsKey(key(path, slot));
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
        w.write(file);
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

    @Override
    public void close() {
        arrays.clear();
        manager.close();
    }
}
