package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Root-mean-square normalization as in Hugging Face's {@code LlamaRMSNorm}: {@code weight ·
 * (x / sqrt(mean(x²) + eps))}, computed in float32 and cast back to the input type.
 */
public class RmsNorm extends Module {

    private final float eps;

    /**
     * @param dim normalized width
     * @param eps added to the mean square
     */
    public RmsNorm(long dim, float eps) {
        if (dim <= 0 || !(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException(
                    "RmsNorm needs a positive dim and a positive finite eps, got dim=" + dim + " eps=" + eps);
        }
        this.eps = eps;
        registerParameter("weight", Parameter.Type.GAMMA, new Shape(dim));
    }

    /**
     * @param ps the parameter store
     * @param x input {@code [..., dim]}
     * @param training whether this is a training pass
     * @return normalized input
     */
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray w = ps.getValue(parameter("weight"), x.getDevice(), training);
        DataType in = x.getDataType();
        NDArray h = in == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        // Scalars, not pow(-1): DJL's Number overloads hand autograd a buffer that GC may free.
        NDArray inv = Scalars.pow(Scalars.add(h.square().mean(new int[] {-1}, true), eps).sqrt(), -1);
        NDArray normed = h.mul(inv);
        if (in != DataType.FLOAT32) {
            normed = normed.toType(in, false);
        }
        return normed.mul(w);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
