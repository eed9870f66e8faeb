package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Module;

/**
 * PEFT's {@code ia3_l} {@code ParameterDict}: one vector per adapter, held as the parameter named
 * by the adapter, so its path is PEFT's {@code <layer>.ia3_l.<adapter>}. Used by {@link Ia3Linear},
 * never called.
 */
public final class Ia3Vectors extends Module {

    /** An empty dictionary. */
    public Ia3Vectors() {}

    /**
     * Declares an adapter's vector (no array yet).
     *
     * @param adapter the adapter's name
     * @param shape {@code [out, 1]} (output scaling) or {@code [1, in]} (input scaling)
     * @return the parameter
     */
    Parameter add(String adapter, Shape shape) {
        return registerParameter(adapter, Parameter.Type.WEIGHT, shape);
    }

    /**
     * Forgets an adapter's vector (its array is closed).
     *
     * @param adapter the adapter's name
     */
    void remove(String adapter) {
        Parameter p = parameters.remove(adapter);
        if (p != null && p.isInitialized()) {
            p.getArray().close();
        }
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> p) {
        throw new UnsupportedOperationException("Ia3Vectors is used by Ia3Linear, not called");
    }
}
