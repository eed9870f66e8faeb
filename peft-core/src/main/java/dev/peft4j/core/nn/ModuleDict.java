package dev.peft4j.core.nn;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.Map;

/**
 * A container of named children, like PyTorch's {@code nn.ModuleDict}: its owner looks children up
 * by name (e.g. {@code lora_A.default}); it is never called itself.
 */
public class ModuleDict extends Module {

    /** An empty dictionary. */
    public ModuleDict() {}

    /**
     * @param items name → module, registered in iteration order
     */
    public ModuleDict(Map<String, ? extends Module> items) {
        items.forEach(this::put);
    }

    /**
     * Adds a child.
     *
     * @param name the child's name (letters, digits, underscores)
     * @param module the child
     * @param <T> its type
     * @return the child
     */
    public final <T extends Module> T put(String name, T module) {
        return registerModule(name, module);
    }

    /**
     * @param name a child's name
     * @return whether there is such a child
     */
    public final boolean contains(String name) {
        return children().containsKey(name);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("a ModuleDict is used by its owner, not called");
    }
}
