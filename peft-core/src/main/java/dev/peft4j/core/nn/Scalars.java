package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic with a scalar that is safe under autograd.
 *
 * <p><b>Why not {@code x.mul(2f)}?</b> DJL's PyTorch engine implements {@code NDArray.mul(Number)},
 * {@code div(Number)}, {@code pow(Number)} (and the other {@code Number} overloads) by creating a
 * temporary 0-d array from a Java direct buffer, which PyTorch wraps without copying
 * ({@code from_blob}), and closing it right after the operation. Autograd, however, saves that
 * scalar for the backward pass of {@code mul}, {@code div} and {@code pow}. Once the temporary is
 * closed nothing on the Java side references the buffer, so a garbage collection between the
 * forward and the backward pass frees it, and backward reads freed memory: gradients come out
 * wrong or NaN while the loss is finite, intermittently (only when a GC happens to run in between).
 *
 * <p>The methods here create the scalar with an engine allocation ({@code full}), whose memory the
 * saved tensor keeps alive by reference count, so closing the Java handle is harmless. Use them
 * (not the {@code Number} overloads) wherever the array may take part in a backward pass. ({@code
 * add} and {@code sub} save no operand, but they follow the same rule so that a build check,
 * peft-examples' {@code ScalarArithmeticCheckTest}, can forbid every {@code Number} overload in such
 * code without exceptions.)
 */
public final class Scalars {

    private Scalars() {}

    /**
     * A 0-d array holding {@code value}, of {@code like}'s type and on its device, in its manager,
     * allocated by the engine (not backed by a Java buffer).
     *
     * @param like the array whose type, device and manager to use
     * @param value the value
     * @return the scalar array
     */
    public static NDArray of(NDArray like, double value) {
        NDArray s = like.getManager().full(new Shape(), (float) value, like.getDataType());
        if (!s.getDevice().equals(like.getDevice())) {
            NDArray moved = s.toDevice(like.getDevice(), true);
            s.close();
            s = moved;
        }
        return s;
    }

    /**
     * @param x the array
     * @param value the addend
     * @return {@code x + value}
     */
    public static NDArray add(NDArray x, double value) {
        try (NDArray s = of(x, value)) {
            return x.add(s);
        }
    }

    /**
     * @param x the array
     * @param value the subtrahend
     * @return {@code x - value}
     */
    public static NDArray sub(NDArray x, double value) {
        try (NDArray s = of(x, value)) {
            return x.sub(s);
        }
    }

    /**
     * @param x the array
     * @param value the factor
     * @return {@code x · value}
     */
    public static NDArray mul(NDArray x, double value) {
        try (NDArray s = of(x, value)) {
            return x.mul(s);
        }
    }

    /**
     * @param x the array
     * @param value the divisor
     * @return {@code x / value}
     */
    public static NDArray div(NDArray x, double value) {
        try (NDArray s = of(x, value)) {
            return x.div(s);
        }
    }

    /**
     * @param x the array
     * @param exponent the exponent
     * @return {@code x ^ exponent}
     */
    public static NDArray pow(NDArray x, double exponent) {
        try (NDArray s = of(x, exponent)) {
            return x.pow(s);
        }
    }
}
