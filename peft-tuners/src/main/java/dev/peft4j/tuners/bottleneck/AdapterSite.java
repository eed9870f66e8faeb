package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Module;

/**
 * The module AdapterHub's Llama layers hold at {@code attention_adapters} and {@code
 * output_adapters} ({@code BottleneckLayer}), added where the model has none so that adapters sit
 * at {@code model.layers.<i>.attention_adapters.adapters.<name>}; it holds the {@code adapters}
 * dictionary and is never called (the layer's residual hook runs the adapter).
 */
final class AdapterSite extends Module {

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("an adapter site holds adapters; it is not called");
    }

    @Override
    public String toString() {
        return "AdapterSite()";
    }
}
