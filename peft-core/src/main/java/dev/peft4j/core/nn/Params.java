package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;

/** Helpers for giving parameters their values. */
public final class Params {

    private Params() {}

    /**
     * Gives a parameter its value. A parameter without an array takes {@code value} itself; one
     * that already has an array (same shape) is overwritten in place and {@code value} is closed.
     * The parameter's trainability is kept.
     *
     * @param p the parameter
     * @param value the new value
     */
    public static void assign(Parameter p, NDArray value) {
        if (!p.isInitialized()) {
            p.setArray(value);
            if (p.requiresGradient()) {
                value.setRequiresGradient(true);
            }
            return;
        }
        NDArray current = p.getArray();
        if (!current.getShape().equals(value.getShape())) {
            throw new IllegalArgumentException(
                    "parameter '" + p.getName() + "' has shape " + current.getShape()
                            + ", value has " + value.getShape());
        }
        NDArray converted = value.getDataType() == current.getDataType()
                ? value : value.toType(current.getDataType(), false);
        current.set(converted.toByteBuffer());
        if (converted != value) {
            converted.close();
        }
        value.close();
    }
}
