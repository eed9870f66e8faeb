package dev.peft4j.core.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.adapter.AdapterLayer;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;

/** The toy adapter layer: {@code y = base(x) ⊙ s}, one learned vector {@code s [out]} per adapter. */
final class ScaleLinear extends Module implements LinearLike, AdapterLayer {

    /** One adapter's vector, {@code scale_vector.<adapter>.weight}. */
    static final class Vector extends Module {
        Vector(long out) {
            registerParameter("weight", Parameter.Type.WEIGHT, new Shape(out));
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }

    String active;
    boolean disabled;

    ScaleLinear(LinearLike base) {
        registerModule("base_layer", (Module) base);
        registerModule("scale_vector", new ModuleDict());
    }

    LinearLike baseLayer() {
        return (LinearLike) child("base_layer");
    }

    ModuleDict vectors() {
        return (ModuleDict) child("scale_vector");
    }

    Parameter vector(String adapter) {
        return vectors().child(adapter).parameter("weight");
    }

    @Override
    public long inFeatures() {
        return baseLayer().inFeatures();
    }

    @Override
    public long outFeatures() {
        return baseLayer().outFeatures();
    }

    @Override
    public Parameter biasParameter() {
        return baseLayer().biasParameter();
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray y = baseLayer().forward(ps, x, training);
        if (disabled || active == null || !vectors().children().containsKey(active)) {
            return y;
        }
        return y.mul(ps.getValue(vector(active), x.getDevice(), training));
    }

    @Override
    public NDArray denseWeight(NDManager manager) {
        throw new UnsupportedOperationException("the toy is not mergeable");
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
        return new NDList(forward(ps, in.singletonOrThrow(), training));
    }
}
