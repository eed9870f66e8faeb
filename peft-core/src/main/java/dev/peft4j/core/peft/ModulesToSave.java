package dev.peft4j.core.peft;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.adapter.AdapterLayer;
import dev.peft4j.core.adapter.ModuleCopies;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code modules_to_save}: per adapter, a trainable copy of a module (a classification head)
 * that is swapped into the tree while that adapter is active; the frozen original returns when
 * adapters are disabled or the module has no copy for the active adapter. The copy sits at the
 * original's path, so model code that casts the module to its class keeps working (PEFT instead
 * nests it as {@code <path>.modules_to_save.<adapter>}; the saved keys are the same either way).
 */
final class ModulesToSave {

    private final Map<String, Module> originals = new LinkedHashMap<>();
    private final Map<String, Map<String, Module>> copies = new LinkedHashMap<>();

    /**
     * The module paths {@code names} select (equal to a name or ending with {@code "." + name}),
     * outside {@link AdapterLayer}s.
     *
     * @param root the base model
     * @param names module names
     * @param required whether a name that matches nothing is an error
     * @param targets the method's target paths, which cannot also be saved whole
     * @param method the method's name, for the error
     * @return paths
     */
    List<String> resolve(Module root, List<String> names, boolean required, List<String> targets, String method) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            boolean found = false;
            for (String path : root.namedModules().keySet()) {
                if (!path.isEmpty() && (path.equals(n) || path.endsWith("." + n)) && !insideAdapter(root, path)) {
                    if (targets.contains(path)) {
                        throw new IllegalArgumentException("module '" + path
                                + "' is both a " + method + " target and in modules_to_save");
                    }
                    if (!out.contains(path)) {
                        out.add(path);
                    }
                    found = true;
                }
            }
            if (!found && required) {
                throw new IllegalArgumentException("modules_to_save '" + n + "' matches no module of "
                        + root.getClass().getSimpleName());
            }
        }
        return out;
    }

    private static boolean insideAdapter(Module root, String path) {
        String[] parts = path.split("\\.");
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            p.append(i == 0 ? "" : ".").append(parts[i]);
            if (root.getModule(p.toString()) instanceof AdapterLayer) {
                return true;
            }
        }
        return false;
    }

    /** Makes the copies for {@code adapter}; nothing is changed in the tree. */
    Map<String, Module> prepare(Module root, List<String> paths, NDManager manager) {
        Map<String, Module> made = new LinkedHashMap<>();
        for (String p : paths) {
            Module original = originals.containsKey(p) ? originals.get(p) : root.getModule(p);
            made.put(p, ModuleCopies.copy(original, manager));
        }
        return made;
    }

    void add(Module root, String adapter, Map<String, Module> made) {
        for (Map.Entry<String, Module> e : made.entrySet()) {
            originals.computeIfAbsent(e.getKey(), root::getModule);
            copies.computeIfAbsent(e.getKey(), k -> new LinkedHashMap<>()).put(adapter, e.getValue());
        }
    }

    /** Puts the active adapter's copies (or the originals) into the tree. */
    void activate(Module root, String adapter) {
        for (Map.Entry<String, Module> e : originals.entrySet()) {
            Module m = adapter == null ? null : copies.get(e.getKey()).get(adapter);
            Module want = m == null ? e.getValue() : m;
            if (root.getModule(e.getKey()) != want) {
                root.setModule(e.getKey(), want);
            }
        }
    }

    /** Drops an adapter's copies; a path left without copies gets its original back and is forgotten. */
    void delete(Module root, String adapter) {
        for (String p : new ArrayList<>(copies.keySet())) {
            copies.get(p).remove(adapter);
            if (copies.get(p).isEmpty()) {
                root.setModule(p, originals.remove(p));
                copies.remove(p);
            }
        }
    }

    /**
     * Puts a {@link RoutedHead} at every path with copies, for a mixed-adapter batch; {@link
     * #activate} puts the active adapter's layers back. Checks every path before changing any.
     *
     * @param root the base model
     * @param routing the rows' adapters
     * @throws IllegalArgumentException when a saved module is not a linear layer
     */
    void route(Module root, RowRouting routing) {
        for (Map.Entry<String, Module> e : originals.entrySet()) {
            if (!(e.getValue() instanceof LinearLike)) {
                throw new IllegalArgumentException("modules_to_save '" + e.getKey() + "' ("
                        + e.getValue().getClass().getSimpleName() + ") is not a linear layer: mixed-adapter"
                        + " batches route only linear heads");
            }
        }
        for (Map.Entry<String, Module> e : originals.entrySet()) {
            root.setModule(e.getKey(), new RoutedHead(e.getKey(), (LinearLike) e.getValue(),
                    Map.copyOf(copies.get(e.getKey())), routing));
        }
    }

    /** @return path → copy for one adapter */
    Map<String, Module> copiesOf(String adapter) {
        Map<String, Module> out = new LinkedHashMap<>();
        copies.forEach((p, byAdapter) -> {
            if (byAdapter.containsKey(adapter)) {
                out.put(p, byAdapter.get(adapter));
            }
        });
        return out;
    }
}
