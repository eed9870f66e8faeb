package dev.peft4j.core.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

import java.util.Map;

/**
 * A {@code modules_to_save} linear layer (a classification head) during a mixed-adapter batch: each
 * row runs the copy of the adapter it names, or the frozen original for {@link RowRouting#BASE}
 * and adapters without a copy. It stands at the head's path only while the routing is open and
 * holds the layers by reference (no children of its own).
 */
final class RoutedHead extends Module implements LinearLike {

    private final String path;
    private final LinearLike original;
    private final Map<String, Module> copies;
    private final RowRouting routing;

    /**
     * @param path the head's path
     * @param original the frozen original
     * @param copies adapter → its copy
     * @param routing the rows' adapters
     */
    RoutedHead(String path, LinearLike original, Map<String, Module> copies, RowRouting routing) {
        this.path = path;
        this.original = original;
        this.copies = copies;
        this.routing = routing;
    }

    private LinearLike layerOf(String adapter) {
        Module copy = copies.get(adapter);
        return copy == null ? original : (LinearLike) copy;
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        routing.check(x, training, path);
        Shape tail = new Shape(outFeatures());
        return routing.combine(x, (adapter, rows) -> layerOf(adapter).forward(ps, rows, false), tail);
    }

    @Override
    public long inFeatures() {
        return original.inFeatures();
    }

    @Override
    public long outFeatures() {
        return original.outFeatures();
    }

    @Override
    public NDArray denseWeight(NDManager manager) {
        throw new UnsupportedOperationException(path + " runs a different copy per row during a mixed-adapter batch");
    }

    @Override
    public Parameter biasParameter() {
        return original.biasParameter();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return ((Module) original).getOutputShapes(inputShapes);
    }
}
