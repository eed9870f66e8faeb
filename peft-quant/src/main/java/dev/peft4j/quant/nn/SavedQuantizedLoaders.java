package dev.peft4j.quant.nn;

import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.SavedWeightLoaders;
import dev.peft4j.core.nn.WeightLoader;

import java.util.Optional;

/**
 * Lets peft-core's {@code fromPretrained} load directories saved 4-bit (transformers'
 * bitsandbytes layout, {@code quantization_config}) as saved: registered with {@link
 * java.util.ServiceLoader}, it answers {@link QuantizedLoader#forCheckpoint(HfConfig,
 * QuantizationConfig) QuantizedLoader.forCheckpoint(config, null)} for them.
 */
public final class SavedQuantizedLoaders implements SavedWeightLoaders {

    /** Used by {@link java.util.ServiceLoader}. */
    public SavedQuantizedLoaders() {}

    @Override
    public Optional<WeightLoader> forSaved(HfConfig config) {
        return HfQuantizationConfig.isPresent(config.json())
                ? Optional.of(QuantizedLoader.forCheckpoint(config, null)) : Optional.empty();
    }
}
