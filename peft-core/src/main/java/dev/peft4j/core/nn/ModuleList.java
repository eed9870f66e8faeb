package dev.peft4j.core.nn;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.List;

/**
 * An ordered container whose children are named {@code 0}, {@code 1}, … like PyTorch's {@code
 * nn.ModuleList}, giving paths such as {@code encoder.layer.3.output.dense}. Its owner iterates it.
 *
 * @param <T> the element type
 */
public class ModuleList<T extends Module> extends Module {

    /**
     * @param items the elements, registered as children {@code 0..n-1}
     */
    public ModuleList(List<T> items) {
        for (int i = 0; i < items.size(); i++) {
            registerModule(Integer.toString(i), items.get(i));
        }
    }

    /**
     * @param i index
     * @return the element currently at {@code i} (after any replacement)
     */
    @SuppressWarnings("unchecked")
    public T get(int i) {
        return (T) child(Integer.toString(i));
    }

    /** @return the number of elements */
    public int size() {
        return children().size();
    }

    /** @return a snapshot of the elements */
    @SuppressWarnings("unchecked")
    public List<T> items() {
        List<T> out = new ArrayList<>();
        for (Module m : children().values()) {
            out.add((T) m);
        }
        return out;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("a ModuleList is iterated by its owner, not called");
    }
}
