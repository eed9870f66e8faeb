package dev.peft4j.lora;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Module;

/**
 * DoRA's magnitude vector for one adapter, {@code lora_magnitude_vector.<adapter>.weight} of shape
 * {@code [out]} (PEFT's {@code DoraLinearLayer}); used by {@link LoraLinear}, never called.
 */
public final class DoraMagnitude extends Module {

    /**
     * @param outFeatures the adapted layer's output width
     */
    public DoraMagnitude(long outFeatures) {
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(outFeatures));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
        throw new UnsupportedOperationException("DoraMagnitude is used by LoraLinear, not called");
    }
}
