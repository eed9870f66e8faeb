package dev.peft4j.core.peft;

import dev.peft4j.core.adapter.RowRoutedLayer;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.nn.Module;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A mixed-adapter batch in effect, as PEFT's {@code adapter_names}: until closed, row {@code i} of
 * every forward pass runs adapter {@code adapterNames.get(i)} ({@link RowRouting#BASE} for the
 * base model alone), with the base computed once for the whole batch and each adapter's part on
 * its own rows. Made by {@link PeftModel#routeRows}; closing it runs the active adapter again.
 *
 * <pre>{@code
 * try (AdapterRouting r = peft.routeRows(List.of("support", "__base__", "legal"))) {
 *     float[][] vectors = bert.embed(List.of("refund please", "hello", "the contract says"));
 * }
 * }</pre>
 */
public final class AdapterRouting implements AutoCloseable {

    private final RowRouting routing;
    private final Runnable onClose;
    private boolean open = true;

    private AdapterRouting(RowRouting routing, Runnable onClose) {
        this.routing = routing;
        this.onClose = onClose;
    }

    /**
     * Checks everything, then sets the routing on every routed layer and {@code modules_to_save}
     * head; nothing is changed when a check fails.
     *
     * @param base the base model
     * @param method the model's method (null when it has no adapter)
     * @param adapters the loaded adapters
     * @param heads the {@code modules_to_save} copies
     * @param names the adapter per row
     * @param onClose restores the active adapter
     * @return the open routing
     */
    static AdapterRouting open(Module base, PeftMethod<?> method, Set<String> adapters, ModulesToSave heads,
            List<String> names, Runnable onClose) {
        Objects.requireNonNull(names, "adapterNames");
        if (names.isEmpty()) {
            throw new IllegalArgumentException("adapter names must name one adapter per row, got none");
        }
        Set<String> used = new LinkedHashSet<>();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            if (n == null || (!n.equals(RowRouting.BASE) && !adapters.contains(n))) {
                throw new IllegalArgumentException("unknown adapter '" + n + "' for row " + i + "; loaded adapters: "
                        + adapters + " (or " + RowRouting.BASE + " for the base model)");
            }
            if (!n.equals(RowRouting.BASE)) {
                used.add(n);
            }
        }
        Map<String, RowRoutedLayer> layers = new LinkedHashMap<>();
        if (method != null) {
            for (String a : used) {
                for (String path : method.adaptedPaths(base, a)) {
                    if (!(moduleAt(base, path) instanceof RowRoutedLayer l)) {
                        throw unsupported(method);
                    }
                    l.checkRoutable(a);
                    layers.put(path, l);
                }
            }
            if (!used.isEmpty() && layers.isEmpty()) {
                throw unsupported(method);
            }
        }
        RowRouting routing = new RowRouting(names);
        heads.route(base, routing);
        for (Module m : base.namedModules().values()) {
            if (m instanceof RowRoutedLayer l) {
                l.setRowRouting(routing);
            }
        }
        return new AdapterRouting(routing, () -> {
            for (Module m : base.namedModules().values()) {
                if (m instanceof RowRoutedLayer l) {
                    l.setRowRouting(null);
                }
            }
            onClose.run();
        });
    }

    /** The module at an adapted path, or null where the method's path names no module (a hook site). */
    private static Module moduleAt(Module base, String path) {
        try {
            return base.getModule(path);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static UnsupportedOperationException unsupported(PeftMethod<?> method) {
        return new UnsupportedOperationException(method.peftType() + " adapters cannot run in mixed-adapter batches"
                + " (adapter names per row): only methods whose layers route rows (LORA, IA3) can");
    }

    /** @return the adapter of every row */
    public List<String> adapterNames() {
        return routing.adapterNames();
    }

    /** @return the routing the layers share */
    public RowRouting routing() {
        return routing;
    }

    /** @return whether the routing is still in effect */
    public boolean isOpen() {
        return open;
    }

    /** Clears the routing: the active adapter runs every row again. */
    @Override
    public void close() {
        if (open) {
            open = false;
            onClose.run();
        }
    }
}
