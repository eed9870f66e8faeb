package dev.peft4j.core.train;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Saves and restores the trained weights of a run (for LoRA: the adapter, in PEFT format). The
 * trainer calls {@link #save} with an empty directory inside a checkpoint being written and {@link
 * #load} with that directory when resuming; the default, {@link TrainableParametersIo}, stores
 * every trainable parameter by its Hugging Face path.
 */
public interface CheckpointIo {

    /**
     * Writes the weights into {@code dir}.
     *
     * @param dir an existing, empty directory
     * @throws IOException when writing fails
     */
    void save(Path dir) throws IOException;

    /**
     * Restores the weights written by {@link #save} into the model, in place.
     *
     * @param dir a directory written by {@link #save}
     * @throws IOException when reading fails or the contents do not match the model
     */
    void load(Path dir) throws IOException;
}
