package dev.peft4j.core.testing;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;

/**
 * A {@link Linear} that counts its forward calls, installed in place of a model's linear layer
 * (same weight arrays, same trainability): for tests that pin which layers a pass runs.
 */
public final class CountingLinear extends Linear {

    private int calls;

    private CountingLinear(Linear original) {
        super(original.inFeatures(), original.outFeatures(), original.biasParameter() != null);
        for (String name : new String[] {"weight", "bias"}) {
            Parameter from = original.directParameters().get(name);
            if (from != null) {
                Parameter to = parameter(name);
                to.freeze(!from.requiresGradient());
                to.setArray(from.getArray());
            }
        }
    }

    /**
     * Replaces the {@link Linear} at {@code path} with a counting one sharing its parameters.
     *
     * @param root the model
     * @param path the layer's dotted path
     * @return the counting layer
     */
    public static CountingLinear install(Module root, String path) {
        CountingLinear c = new CountingLinear((Linear) root.getModule(path));
        root.setModule(path, c);
        return c;
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        calls++;
        return super.forward(ps, x, training);
    }

    /** @return the forward calls since the last {@link #reset()} */
    public int calls() {
        return calls;
    }

    /** Sets the count to 0. */
    public void reset() {
        calls = 0;
    }
}
