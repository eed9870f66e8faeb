package dev.peft4j.core.train;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes a model's adapter into a directory, in PEFT's layout ({@code adapter_config.json} and
 * {@code adapter_model.safetensors}) so that Python PEFT and {@code peft4j --adapter} load it. The
 * trainer uses it for the best weights ({@code best/}); a PEFT model's {@code save} method fits:
 *
 * <pre>{@code
 * AdapterSaver saver = peftModel::save;
 * }</pre>
 */
@FunctionalInterface
public interface AdapterSaver {

    /**
     * @param dir an existing, empty directory (the trainer renames it into place once written)
     * @throws IOException when writing fails
     */
    void save(Path dir) throws IOException;
}
