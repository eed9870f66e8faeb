package dev.peft4j.spark;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Module;

import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A frozen base model's tree as it was before an adapter was put on it, so that a cached base can
 * be trained on again: {@link #restore} puts the original modules back where the method left
 * others (PEFT's {@code unload()} keeps the trained {@code modules_to_save} copies), restores the
 * values of base parameters the method trained in place (BitFit's biases) and every parameter's
 * {@code requires_grad} as loaded.
 */
final class BaseSnapshot {

    private final Map<String, Module> modules = new LinkedHashMap<>();
    private final Map<String, Parameter> parameters;
    private final Map<Parameter, Boolean> requiresGradient = new IdentityHashMap<>();
    private final Map<Parameter, NDArray> trainedInPlace = new IdentityHashMap<>();

    private BaseSnapshot(Module base) {
        base.namedModules().forEach((path, m) -> {
            if (!path.isEmpty()) {
                modules.put(path, m);
            }
        });
        parameters = base.namedParameters();
        parameters.values().forEach(p -> requiresGradient.put(p, p.requiresGradient()));
    }

    /**
     * @param base the base before an adapter is put on it
     * @return its snapshot (references, no copies)
     */
    static BaseSnapshot of(Module base) {
        return new BaseSnapshot(base);
    }

    /**
     * Copies the values of the base's own parameters that are trainable once the adapter is on
     * (wrapping freezes the others); call after wrapping, before training.
     *
     * @param manager owns the copies (close it after {@link #restore})
     * @return the number of parameters copied
     */
    int protectTrainedInPlace(NDManager manager) {
        for (Parameter p : parameters.values()) {
            if (p.requiresGradient()) {
                NDArray copy = p.getArray().duplicate();
                copy.attach(manager);
                trainedInPlace.put(p, copy);
            }
        }
        return trainedInPlace.size();
    }

    /**
     * Puts the base back as it was; call after {@code PeftModel.unload()}.
     *
     * @param base the base
     * @return true when the base's parameters are again exactly the snapshot's (same objects,
     *     values and flags), so it can be reused
     */
    boolean restore(Module base) {
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            Module now;
            try {
                now = base.getModule(e.getKey());
            } catch (IllegalArgumentException gone) {
                return false;
            }
            if (now != e.getValue()) {
                base.setModule(e.getKey(), e.getValue());
            }
        }
        trainedInPlace.forEach((p, copy) -> copy.copyTo(p.getArray()));
        requiresGradient.forEach((p, trainable) -> {
            if (p.requiresGradient() != trainable) {
                p.freeze(!trainable);
            }
        });
        Map<String, Parameter> now = base.namedParameters();
        if (!now.keySet().equals(parameters.keySet())) {
            return false;
        }
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            if (now.get(e.getKey()) != e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
