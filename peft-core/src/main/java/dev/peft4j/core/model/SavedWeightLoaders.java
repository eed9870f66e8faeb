package dev.peft4j.core.model;

import dev.peft4j.core.nn.WeightLoader;

import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The seam through which a checkpoint saved in a non-dense layout (4-bit bitsandbytes tensors,
 * announced by {@code quantization_config} in {@code config.json}) loads as saved, though peft-core
 * does not depend on the module that reads it. peft-quant registers an implementation with {@link
 * ServiceLoader} ({@code META-INF/services/dev.peft4j.core.model.SavedWeightLoaders}); {@link
 * PretrainedOptions#weightLoader} asks it first.
 */
public interface SavedWeightLoaders {

    /** The {@code config.json} field announcing a quantized checkpoint. */
    String QUANTIZATION_CONFIG = "quantization_config";

    /**
     * @param config a checkpoint's {@code config.json}
     * @return the loader that reads the checkpoint as saved, or empty when it is not this
     *     provider's layout
     */
    Optional<WeightLoader> forSaved(HfConfig config);

    /**
     * Asks every provider on the class path.
     *
     * @param config a checkpoint's {@code config.json}
     * @return the loader for a checkpoint saved quantized, or empty for a dense checkpoint
     * @throws ConfigException naming the file when it is saved quantized and no provider reads it
     */
    static Optional<WeightLoader> find(HfConfig config) {
        for (SavedWeightLoaders p : ServiceLoader.load(SavedWeightLoaders.class,
                SavedWeightLoaders.class.getClassLoader())) {
            Optional<WeightLoader> l = p.forSaved(config);
            if (l.isPresent()) {
                return l;
            }
        }
        if (config.has(QUANTIZATION_CONFIG)) {
            throw new ConfigException(config.source() + ": the model is saved quantized (" + QUANTIZATION_CONFIG
                    + "); add dev.peft4j:peft-quant to the class path to load it");
        }
        return Optional.empty();
    }
}
