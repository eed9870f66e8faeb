package dev.peft4j.core.adapter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * Which adapter each row of a batch runs, as PEFT's {@code adapter_names}: row {@code i} of every
 * routed layer's input uses adapter {@code names[i]}, or the base alone for {@value #BASE}. One
 * instance is shared by every {@link RowRoutedLayer} of a model while a mixed-adapter batch runs.
 *
 * <p>Batched inference that splits a long list into passes (the typed models' {@code embed},
 * {@code predict}, {@code generateIds}) moves a window over the names with {@link #setWindow};
 * a direct forward sees the whole list. A routed layer computes its base output once for the whole
 * batch and each adapter's contribution on that adapter's rows only ({@link #combine}).
 */
public final class RowRouting {

    /** PEFT's name for "no adapter on this row". */
    public static final String BASE = "__base__";

    private final List<String> names;
    private int start;
    private int size;
    private Map<String, long[]> groups;

    /**
     * @param names the adapter per row, {@value #BASE} for the base model
     */
    public RowRouting(List<String> names) {
        this.names = List.copyOf(Objects.requireNonNull(names, "names"));
        if (this.names.isEmpty()) {
            throw new IllegalArgumentException("adapter names must name one adapter per row, got none");
        }
        setWindow(0, this.names.size());
    }

    /** @return the adapter of every row, in row order */
    public List<String> adapterNames() {
        return names;
    }

    /**
     * Makes the next forward passes see rows {@code [start, start + size)} of the names, for
     * batched inference that runs a long list in several passes.
     *
     * @param start the first row of the pass
     * @param size the rows of the pass
     */
    public void setWindow(int start, int size) {
        if (start < 0 || size < 1 || start + size > names.size()) {
            throw new IllegalArgumentException("rows [" + start + ", " + (start + size) + ") are outside the "
                    + names.size() + " adapter names");
        }
        this.start = start;
        this.size = size;
        Map<String, List<Integer>> byName = new LinkedHashMap<>();
        for (int i = 0; i < size; i++) {
            byName.computeIfAbsent(names.get(start + i), k -> new ArrayList<>()).add(i);
        }
        Map<String, long[]> g = new LinkedHashMap<>();
        byName.forEach((n, rows) -> g.put(n, rows.stream().mapToLong(Integer::longValue).toArray()));
        groups = g;
    }

    /** Sees the whole list again. */
    public void resetWindow() {
        setWindow(0, names.size());
    }

    /** A window in effect; closing it makes the routing see the whole list again. */
    public static final class Window implements AutoCloseable {

        private final RowRouting routing;

        private Window(RowRouting routing) {
            this.routing = routing;
        }

        /** Resets the window to every row. */
        @Override
        public void close() {
            if (routing != null) {
                routing.resetWindow();
            }
        }
    }

    /**
     * {@link #setWindow} as a scope, for a batched-inference loop.
     *
     * @param routing the routing, or null when none is in effect (the scope does nothing)
     * @param start the first row of the pass
     * @param size the rows of the pass
     * @return the scope
     */
    public static Window window(RowRouting routing, int start, int size) {
        if (routing != null) {
            routing.setWindow(start, size);
        }
        return new Window(routing);
    }

    /** @return the rows a forward pass must have now (the window's size) */
    public int batchSize() {
        return size;
    }

    /**
     * @param row a row of the current pass
     * @return its adapter name
     */
    public String adapterOfRow(int row) {
        return names.get(start + row);
    }

    /** @return adapter name → its rows in the current pass, in order of first appearance ({@value #BASE} included) */
    public Map<String, long[]> groups() {
        return groups;
    }

    /**
     * Checks a routed layer's input before it computes anything.
     *
     * @param x the layer input, rows first
     * @param training the forward's training flag
     * @param path the layer, for the message
     * @throws IllegalStateException in training, or when the batch is not the names' length
     */
    public void check(NDArray x, boolean training, String path) {
        if (training) {
            throw new IllegalStateException("mixed-adapter batches (adapter names per row) are for inference:"
                    + " " + path + " was run with training=true");
        }
        long rows = x.getShape().dimension() == 0 ? 0 : x.getShape().get(0);
        if (rows != size) {
            throw new IllegalArgumentException("the batch has " + rows + " rows but " + size
                    + " adapter names were given (" + path + ")");
        }
    }

    /**
     * Checks a batched call's row count against the names before it runs.
     *
     * @param rows the inputs of the call
     * @param what the call, for the message
     */
    public void checkRows(int rows, String what) {
        if (rows != names.size()) {
            throw new IllegalArgumentException(what + " got " + rows + " inputs but " + names.size()
                    + " adapter names");
        }
    }

    /**
     * The rows of {@code x} (its first axis) that one group runs.
     *
     * @param x rows first
     * @param rows row indices, from {@link #groups()}
     * @return {@code x[rows]}
     */
    public static NDArray select(NDArray x, long[] rows) {
        if (rows.length == x.getShape().get(0) && isIdentity(rows)) {
            return x;
        }
        NDArray idx = x.getManager().create(rows);
        return x.get(new NDIndex("{}", idx));
    }

    private static boolean isIdentity(long[] rows) {
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != i) {
                return false;
            }
        }
        return true;
    }

    /**
     * Runs {@code part} on each group's rows of {@code x} and puts the results back in row order:
     * each group's output, concatenated, then gathered by the inverse permutation. A group whose
     * {@code part} gives null contributes zeros of {@code tail} (per row).
     *
     * @param x the layer input, rows first
     * @param part (adapter, its rows of x) → its output {@code [rows, ...tail]}, or null for zeros
     * @param tail the per-row shape of the output
     * @return {@code [batch, ...tail]}, or null when every group gave null
     */
    public NDArray combine(NDArray x, BiFunction<String, NDArray, NDArray> part, Shape tail) {
        NDManager m = x.getManager();
        NDList parts = new NDList();
        long[] order = new long[size];
        boolean any = false;
        int at = 0;
        NDArray like = null;
        List<long[]> zeros = new ArrayList<>();
        List<Integer> zeroAt = new ArrayList<>();
        for (Map.Entry<String, long[]> g : groups.entrySet()) {
            long[] rows = g.getValue();
            NDArray out = part.apply(g.getKey(), select(x, rows));
            if (out != null) {
                any = true;
                like = out;
            } else {
                zeroAt.add(parts.size());
                zeros.add(rows);
            }
            parts.add(out);
            for (long r : rows) {
                order[(int) r] = at++;
            }
        }
        if (!any) {
            return null;
        }
        for (int i = 0; i < zeroAt.size(); i++) {
            parts.set(zeroAt.get(i), m.zeros(new Shape(zeros.get(i).length).addAll(tail), like.getDataType()));
        }
        NDArray all = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
        return isIdentity(order) ? all : all.get(new NDIndex("{}", m.create(order)));
    }

    /**
     * The routing in effect in a model, for batched inference that must move its window.
     *
     * @param root a model
     * @return the routing of its first routed layer, or null when no mixed-adapter batch is set up
     */
    public static RowRouting find(Module root) {
        for (Module m : root.namedModules().values()) {
            if (m instanceof RowRoutedLayer l && l.rowRouting() != null) {
                return l.rowRouting();
            }
        }
        return null;
    }
}
