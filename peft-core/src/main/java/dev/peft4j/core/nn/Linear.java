package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.checkpoint.FrozenLinear;
import dev.peft4j.core.checkpoint.FrozenLinearTape;

/**
 * A full-precision linear layer with Hugging Face parameter names: {@code y = x·Wᵀ + b}, {@code
 * weight} of shape {@code [out, in]}, optional {@code bias} of shape {@code [out]}.
 */
public class Linear extends Module implements LinearLike, ReplaceableWeight, FrozenLinear {

    private final long inFeatures;
    private final long outFeatures;

    /**
     * @param inFeatures input width, positive
     * @param outFeatures output width, positive
     * @param bias whether the layer has a bias
     */
    public Linear(long inFeatures, long outFeatures, boolean bias) {
        if (inFeatures <= 0 || outFeatures <= 0) {
            throw new IllegalArgumentException(
                    "Linear needs positive sizes, got in=" + inFeatures + " out=" + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(outFeatures, inFeatures));
        if (bias) {
            registerParameter("bias", Parameter.Type.BIAS, new Shape(outFeatures));
        }
    }

    /**
     * A full-precision copy of any linear layer: its {@link LinearLike#denseWeight dense weight}
     * (dequantized for a packed layer, the effective merged weight for an adapted one) and a copy
     * of its bias. The weight is frozen (a copy of a base weight); the bias keeps its
     * trainability.
     *
     * @param layer the layer to copy; left unchanged
     * @param dtype FLOAT32 or FLOAT16, the copy's weight and bias type
     * @param manager owner of the copy's arrays
     * @return the new layer
     */
    public static Linear copyOf(LinearLike layer, DataType dtype, NDManager manager) {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("a dense copy is FLOAT32 or FLOAT16, got " + dtype);
        }
        Parameter bias = layer.biasParameter();
        Linear out = new Linear(layer.inFeatures(), layer.outFeatures(), bias != null);
        NDArray w = layer.denseWeight(manager);
        NDArray weight = w.toType(dtype, false);
        if (weight != w) {
            w.close();
        }
        out.parameter("weight").freeze(true);
        Params.assign(out.parameter("weight"), weight);
        if (bias != null) {
            Parameter b = out.biasParameter();
            b.freeze(!bias.requiresGradient());
            if (bias.isInitialized()) {
                try (NDArray detached = bias.getArray().stopGradient()) {
                    NDArray copy = detached.toType(dtype, true);
                    copy.attach(manager);
                    Params.assign(b, copy);
                }
            }
        }
        return out;
    }

    @Override
    public long inFeatures() {
        return inFeatures;
    }

    @Override
    public long outFeatures() {
        return outFeatures;
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray w = ps.getValue(parameter("weight"), x.getDevice(), training);
        Parameter b = biasParameter();
        NDArray bias = b == null ? null : ps.getValue(b, x.getDevice(), training);
        return linear(x, w, bias);
    }

    /**
     * {@code y = x·Wᵀ + b} over the last dimension of {@code x}, computed on {@code x} viewed as a
     * matrix {@code [rows, in]}: PyTorch then adds the bias inside the GEMM ({@code addmm}) instead
     * of in a separate pass over the output ({@code matmul} + {@code add_}, what a 3-D input gets),
     * which saves one read-modify-write of every activation a linear layer makes. The results
     * agree with the 3-D product up to float round-off (the bias is added before, not after, the
     * products are summed).
     *
     * @param x input {@code [..., in]}
     * @param weight {@code [out, in]}
     * @param bias {@code [out]}, or {@code null}
     * @return {@code [..., out]}
     */
    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        Shape s = x.getShape();
        int d = s.dimension();
        if (d <= 2) {
            return ai.djl.nn.core.Linear.linear(x, weight, bias).singletonOrThrow();
        }
        NDArray y = ai.djl.nn.core.Linear.linear(x.reshape(-1, s.get(d - 1)), weight, bias).singletonOrThrow();
        return y.reshape(s.slice(0, d - 1).add(weight.getShape().get(0)));
    }

    /** {@code dy ↦ dy·W} when neither the weight nor the bias takes a gradient, else null. */
    @Override
    public FrozenLinearTape.InputGradient frozenInputGradient(ParameterStore ps) {
        Parameter w = parameter("weight");
        Parameter b = biasParameter();
        if (w.requiresGradient() || b != null && b.requiresGradient()) {
            return null;
        }
        return dy -> dy.matMul(ps.getValue(w, dy.getDevice(), false));
    }

    @Override
    public NDArray denseWeight(NDManager manager) {
        NDArray w = parameter("weight").getArray();
        NDArray copy = w.toType(DataType.FLOAT32, true);
        copy.attach(manager);
        return copy;
    }

    /**
     * Overwrites {@code weight} in place (its type and device are kept); {@code dense} is left open
     * and unchanged.
     *
     * @param dense the new weight {@code [out, in]}
     */
    @Override
    public void replaceWeight(NDArray dense) {
        Shape expected = new Shape(outFeatures, inFeatures);
        if (!dense.getShape().equals(expected)) {
            throw new IllegalArgumentException(
                    "new weight has shape " + dense.getShape() + ", " + this + " needs " + expected);
        }
        NDArray current = parameter("weight").getArray();
        Params.assign(parameter("weight"), dense.toType(current.getDataType(), true));
    }

    @Override
    public Parameter biasParameter() {
        return directParameters().get("bias");
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures)};
    }

    @Override
    public String toString() {
        return "Linear(in=" + inFeatures + ", out=" + outFeatures + ", bias=" + (biasParameter() != null) + ")";
    }
}
