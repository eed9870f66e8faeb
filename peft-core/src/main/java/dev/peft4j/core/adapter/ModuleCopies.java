package dev.peft4j.core.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;

import java.util.Map;

/**
 * Independent copies of modules, for PEFT's {@code modules_to_save} (a classifier head trained whole
 * beside the adapter while the original stays frozen). {@link Linear} and {@link Embedding} are
 * copied directly; other modules implement {@link Copyable}.
 */
public final class ModuleCopies {

    private ModuleCopies() {}

    /** A module that can make an empty module of its own structure (parameters without arrays). */
    public interface Copyable {

        /** @return a new module with the same class, children and parameter shapes, no arrays */
        Module emptyCopy();
    }

    /**
     * Copies {@code m}: same structure, every parameter array duplicated into {@code manager}.
     * Every parameter of the copy requires gradients.
     *
     * @param m the module, fully initialized
     * @param manager owner of the copied arrays
     * @return the copy
     * @throws IllegalArgumentException when {@code m} cannot be copied or lacks arrays
     */
    public static Module copy(Module m, NDManager manager) {
        Module copy;
        if (m instanceof Copyable c) {
            copy = c.emptyCopy();
        } else if (m.getClass() == Linear.class) {
            Linear l = (Linear) m;
            copy = new Linear(l.inFeatures(), l.outFeatures(), l.biasParameter() != null);
        } else if (m.getClass() == Embedding.class) {
            Embedding e = (Embedding) m;
            copy = new Embedding(e.numEmbeddings(), e.dim());
        } else {
            throw new IllegalArgumentException("cannot copy " + m.getClass().getName()
                    + " for modules_to_save: it is neither Linear, Embedding nor ModuleCopies.Copyable");
        }
        Map<String, Parameter> dst = copy.namedParameters();
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            Parameter to = dst.get(e.getKey());
            if (to == null || !e.getValue().isInitialized()) {
                throw new IllegalArgumentException("cannot copy " + m + ": parameter '" + e.getKey()
                        + (to == null ? "' has no counterpart in the copy" : "' has no array"));
            }
            NDArray value;
            try (NDArray detached = e.getValue().getArray().stopGradient()) {
                value = detached.duplicate();
            }
            value.attach(manager);
            to.freeze(false);
            Params.assign(to, value);
        }
        return copy;
    }
}
