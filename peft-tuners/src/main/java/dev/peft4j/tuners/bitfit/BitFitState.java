package dev.peft4j.tuners.bitfit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The BitFit adapters of one base model. The running adapter's biases are <i>live</i>: they are
 * the base's own bias parameters (what trains and what the forward pass uses). Every other adapter
 * keeps its biases in stand-alone parameters, and the original biases are kept aside; switching
 * adapters stores the live values, puts back the originals, then writes the new adapter's values.
 */
final class BitFitState {

    private final Map<String, NDArray> originals = new LinkedHashMap<>();
    private final Map<String, Map<String, Parameter>> stash = new LinkedHashMap<>();
    private String live;
    private boolean merged;

    /** Adds an adapter whose biases start as the originals of {@code paths} (module paths). */
    void add(Module base, String adapter, List<String> paths, NDManager manager) {
        Map<String, Parameter> own = new LinkedHashMap<>();
        for (String p : paths) {
            originals.computeIfAbsent(p, k -> copy(bias(base, k).getArray(), manager));
            Parameter s = Parameter.builder().setName(p + ".bias").setType(Parameter.Type.BIAS).build();
            s.setArray(copy(originals.get(p), manager));
            own.put(p, s);
        }
        stash.put(adapter, own);
    }

    boolean has(String adapter) {
        return stash.containsKey(adapter);
    }

    List<String> adapters() {
        return new ArrayList<>(stash.keySet());
    }

    /** @return module paths of an adapter's biases */
    List<String> paths(String adapter) {
        return new ArrayList<>(stash.get(adapter).keySet());
    }

    /** @return module path → the parameter holding the adapter's bias now (the base's when live) */
    Map<String, Parameter> parameters(Module base, String adapter) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : stash.get(adapter).entrySet()) {
            out.put(e.getKey(), adapter.equals(live) ? bias(base, e.getKey()) : e.getValue());
        }
        return out;
    }

    /** Makes {@code adapter} (or none) the live one. */
    void setLive(Module base, String adapter) {
        String want = adapter != null && stash.containsKey(adapter) ? adapter : null;
        if (want == null ? live == null : want.equals(live)) {
            return;
        }
        if (live != null) {
            for (Map.Entry<String, Parameter> e : stash.get(live).entrySet()) {
                Parameter b = bias(base, e.getKey());
                Params.assign(e.getValue(), copy(b.getArray(), e.getValue().getArray().getManager()));
                write(b, originals.get(e.getKey()));
            }
        }
        if (want != null) {
            for (Map.Entry<String, Parameter> e : stash.get(want).entrySet()) {
                write(bias(base, e.getKey()), e.getValue().getArray());
            }
        }
        live = want;
        merged = false;
    }

    String live() {
        return live;
    }

    boolean merged() {
        return merged;
    }

    void setMerged(boolean merged) {
        this.merged = merged && live != null;
    }

    /** Forgets an adapter (restoring the originals when it is live). */
    void remove(Module base, String adapter) {
        if (adapter.equals(live)) {
            setLive(base, null);
        }
        stash.remove(adapter).values().forEach(p -> p.getArray().close());
    }

    /** Restores the originals unless merged, and forgets everything. */
    void unload(Module base) {
        if (!merged) {
            setLive(base, null);
        }
        stash.values().forEach(m -> m.values().forEach(p -> p.getArray().close()));
        stash.clear();
        originals.values().forEach(NDArray::close);
        originals.clear();
        live = null;
        merged = false;
    }

    /** Overwrites a base bias in place (outside autograd: a trainable leaf is frozen meanwhile). */
    private static void write(Parameter b, NDArray value) {
        boolean trainable = b.requiresGradient();
        if (trainable) {
            b.freeze(true);
        }
        Params.assign(b, copy(value, b.getArray().getManager()));
        if (trainable) {
            b.freeze(false);
        }
    }

    static Parameter bias(Module base, String path) {
        return base.getModule(path).parameter("bias");
    }

    private static NDArray copy(NDArray a, NDManager manager) {
        NDArray detached = a.stopGradient();
        NDArray c = detached.duplicate();
        c.attach(manager);
        if (detached != a) {
            detached.close();
        }
        return c;
    }
}
