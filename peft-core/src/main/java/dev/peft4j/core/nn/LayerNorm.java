package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** Layer normalization over the last dimension with {@code weight} and {@code bias} of shape {@code [dim]}. */
public class LayerNorm extends Module {

    private final long dim;
    private final float eps;

    /**
     * @param dim normalized width
     * @param eps added to the variance
     */
    public LayerNorm(long dim, float eps) {
        if (dim <= 0 || !(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException(
                    "LayerNorm needs a positive dim and a positive finite eps, got dim=" + dim + " eps=" + eps);
        }
        this.dim = dim;
        this.eps = eps;
        registerParameter("weight", Parameter.Type.GAMMA, new Shape(dim));
        registerParameter("bias", Parameter.Type.BETA, new Shape(dim));
    }

    /**
     * @param ps the parameter store
     * @param x input {@code [..., dim]}
     * @param training whether this is a training pass
     * @return normalized input
     */
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray w = ps.getValue(parameter("weight"), x.getDevice(), training);
        NDArray b = ps.getValue(parameter("bias"), x.getDevice(), training);
        return ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(dim), w, b, eps).singletonOrThrow();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
