package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.adapter.MergeableLayer;
import dev.peft4j.core.adapter.RowRoutedLayer;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.nn.QuantizedLinear;
import dev.peft4j.core.nn.ReplaceableWeight;
import dev.peft4j.core.nn.Scalars;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A linear layer with IA³ vectors over any {@link LinearLike} base (full precision or 4-bit), as
 * PEFT's {@code ia3.Linear}:
 *
 * <pre>
 *   y = base(x) ⊙ l          l: [out, 1]   (non-feed-forward: the output, bias included, is scaled)
 *   y = base(x ⊙ l)          l: [1, in]    (feed-forward: the input is scaled)
 * </pre>
 *
 * <p>Merging writes {@code W ← W ⊙ l} (rows for output scaling, columns for input scaling) and,
 * for output scaling, {@code b ← b ⊙ l}; unmerging divides by {@code l + 1e-8}, which is lossy
 * (PEFT warns "Unmerge result can be inaccurate for (IA)^3"). A 4-bit base cannot be merged into
 * (PEFT refuses too); {@code PeftModel.mergeAndUnloadDense} dequantizes first. Children have PEFT's
 * names: {@code base_layer} and {@code ia3_l.<adapter>}.
 */
public final class Ia3Linear extends Module implements LinearLike, MergeableLayer, RowRoutedLayer {

    private static final Logger LOG = LoggerFactory.getLogger(Ia3Linear.class);

    /** PEFT's epsilon of the unmerge division. */
    public static final double UNMERGE_EPSILON = 1e-8;

    private final String path;
    private final Map<String, Boolean> feedforward = new LinkedHashMap<>();
    private final List<String> merged = new ArrayList<>();
    private String active;
    private boolean disabled;
    private RowRouting routing;

    /**
     * @param path the layer's module path, for messages
     * @param base the layer being adapted; must be a {@link Module}
     */
    public Ia3Linear(String path, LinearLike base) {
        this.path = Objects.requireNonNull(path, "path");
        if (!(base instanceof Module)) {
            throw new IllegalArgumentException("the base of " + path + " (" + base.getClass().getName()
                    + ") is not a Module");
        }
        registerModule("base_layer", (Module) base);
        registerModule("ia3_l", new Ia3Vectors());
    }

    /** @return the module path this layer was put at */
    public String path() {
        return path;
    }

    /** @return the adapted base layer */
    public LinearLike baseLayer() {
        return (LinearLike) child("base_layer");
    }

    /** The base may be swapped (a 4-bit layer for its dequantized copy) for a linear layer of its shape. */
    @Override
    protected void checkReplacement(String name, Module current, Module replacement) {
        if (!name.equals("base_layer")) {
            return;
        }
        LinearLike now = (LinearLike) current;
        if (!(replacement instanceof LinearLike l) || l.inFeatures() != now.inFeatures()
                || l.outFeatures() != now.outFeatures()) {
            throw new IllegalArgumentException("the base layer of " + path + " must stay a linear layer "
                    + now.inFeatures() + " -> " + now.outFeatures() + ", got " + replacement);
        }
    }

    /** @return adapter names, in the order they were added */
    public Set<String> adapterNames() {
        return Collections.unmodifiableSet(feedforward.keySet());
    }

    /**
     * @param adapter an adapter
     * @return whether it scales this layer's input (feed-forward) rather than its output
     */
    public boolean isFeedforward(String adapter) {
        Boolean f = feedforward.get(adapter);
        if (f == null) {
            throw new IllegalArgumentException(path + " has no adapter '" + adapter + "' (has " + feedforward.keySet() + ")");
        }
        return f;
    }

    /**
     * @param adapter an adapter
     * @return its vector {@code ia3_l}: {@code [out, 1]}, or {@code [1, in]} when feed-forward
     */
    public Parameter vector(String adapter) {
        isFeedforward(adapter);
        return child("ia3_l").parameter(adapter);
    }

    /** @return the active adapter, or null */
    public String activeAdapter() {
        return active;
    }

    /** @return the adapters merged into the base weight */
    public List<String> mergedAdapters() {
        return List.copyOf(merged);
    }

    /**
     * Adds an adapter's vector, filled with {@code init} ({@code [out, 1]} or {@code [1, in]}).
     *
     * @param adapter the name
     * @param isFeedforward whether it scales the input
     * @param init its initial value, of the vector's shape; owned by the layer afterwards
     */
    void addAdapter(String adapter, boolean isFeedforward, NDArray init) {
        if (feedforward.containsKey(adapter)) {
            throw new IllegalArgumentException(path + " already has an adapter '" + adapter + "'");
        }
        Shape shape = vectorShape(isFeedforward);
        if (!init.getShape().equals(shape)) {
            throw new IllegalArgumentException("IA3 vector for " + path + " must be " + shape + ", got " + init.getShape());
        }
        Parameter p = ((Ia3Vectors) child("ia3_l")).add(adapter, shape);
        Params.assign(p, init);
        feedforward.put(adapter, isFeedforward);
    }

    /**
     * @param isFeedforward whether the vector scales the input
     * @return its shape
     */
    Shape vectorShape(boolean isFeedforward) {
        return isFeedforward ? new Shape(1, inFeatures()) : new Shape(outFeatures(), 1);
    }

    /** Removes an adapter (unmerging first when it is merged). */
    void deleteAdapter(String adapter) {
        isFeedforward(adapter);
        if (merged.contains(adapter)) {
            unmerge();
        }
        ((Ia3Vectors) child("ia3_l")).remove(adapter);
        feedforward.remove(adapter);
        if (adapter.equals(active)) {
            active = null;
        }
    }

    void setActive(String adapter) {
        active = adapter != null && feedforward.containsKey(adapter) ? adapter : null;
    }

    void setDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    @Override
    public long inFeatures() {
        return baseLayer().inFeatures();
    }

    @Override
    public long outFeatures() {
        return baseLayer().outFeatures();
    }

    /** @return the base layer's bias (scaled by the vector in the forward pass of output scaling) */
    @Override
    public Parameter biasParameter() {
        return baseLayer().biasParameter();
    }

    private boolean runsAdapter() {
        return !disabled && active != null && merged.isEmpty();
    }

    @Override
    public void setRowRouting(RowRouting routing) {
        this.routing = routing;
    }

    @Override
    public RowRouting rowRouting() {
        return routing;
    }

    /**
     * A mixed-adapter batch: each row's vector (ones for {@link RowRouting#BASE} and adapters this
     * layer lacks) is gathered into {@code L: [B, 1.., dim]} and the batch scaled at once, {@code
     * base(x) ⊙ L} for output scaling, {@code base(x ⊙ L)} for input (feed-forward) scaling. An
     * adapter scales one side of a layer, so the other side's vector is ones on its rows and the
     * base runs once.
     */
    private NDArray routedForward(ParameterStore ps, NDArray x) {
        boolean anyInput = false;
        boolean anyOutput = false;
        for (String a : routing.groups().keySet()) {
            Boolean f = feedforward.get(a);
            anyInput |= f != null && f;
            anyOutput |= f != null && !f;
        }
        if (anyInput) {
            NDArray in = x.toType(DataType.FLOAT32, false).mul(perRow(ps, x, true, inFeatures()));
            x = in.toType(x.getDataType(), false);
        }
        NDArray result = baseLayer().forward(ps, x, false);
        if (anyOutput) {
            result = result.mul(perRow(ps, x, false, outFeatures()).toType(result.getDataType(), false));
        }
        return result;
    }

    /**
     * Each row's vector of one kind (input or output scaling) as {@code [B, 1.., dim]}: ones for
     * a row whose adapter this layer lacks or scales the other side.
     */
    private NDArray perRow(ParameterStore ps, NDArray x, boolean input, long dim) {
        NDManager m = x.getManager();
        List<NDArray> table = new ArrayList<>();
        table.add(m.ones(new Shape(1, dim)));
        Map<String, Integer> at = new LinkedHashMap<>();
        for (String a : routing.groups().keySet()) {
            Boolean f = feedforward.get(a);
            if (f != null && f == input) {
                at.put(a, table.size());
                table.add(ps.getValue(vector(a), x.getDevice(), false).toType(DataType.FLOAT32, false).reshape(1, dim));
            }
        }
        long[] idx = new long[routing.batchSize()];
        for (int r = 0; r < idx.length; r++) {
            idx[r] = at.getOrDefault(routing.adapterOfRow(r), 0);
        }
        NDArray rows = NDArrays.concat(new NDList(table), 0).get(new NDIndex("{}", m.create(idx)));
        long[] shape = new long[x.getShape().dimension()];
        Arrays.fill(shape, 1);
        shape[0] = idx.length;
        shape[shape.length - 1] = dim;
        return rows.reshape(new Shape(shape));
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        if (routing != null && !disabled) {
            routing.check(x, training, path);
            return routedForward(ps, x);
        }
        if (!runsAdapter()) {
            return baseLayer().forward(ps, x, training);
        }
        NDArray l = ps.getValue(vector(active), x.getDevice(), training).reshape(-1);
        if (feedforward.get(active)) {
            DataType type = x.getDataType();
            NDArray scaled = x.toType(l.getDataType(), false).mul(l);
            return baseLayer().forward(ps, scaled.toType(type, false), training);
        }
        NDArray result = baseLayer().forward(ps, x, training);
        return result.mul(l.toType(result.getDataType(), false));
    }

    /**
     * @return the effective weight {@code W ⊙ l} (rows or columns); for output scaling the bias is
     *     scaled too in the forward pass, which this weight alone does not show
     */
    @Override
    public NDArray denseWeight(NDManager manager) {
        NDArray w = baseLayer().denseWeight(manager);
        if (!runsAdapter()) {
            return w;
        }
        return w.mul(detached(vector(active), manager));
    }

    private static NDArray detached(Parameter p, NDManager manager) {
        NDArray a = p.getArray().stopGradient().toType(DataType.FLOAT32, true);
        a.attach(manager);
        return a;
    }

    /**
     * Writes the active adapter into the base: {@code W ← W ⊙ l}, and {@code b ← b ⊙ l} for output
     * scaling; the layer then runs the base alone. A no-op when merged already.
     *
     * @param safe check the merged weight for NaN/Inf before writing it
     * @throws IllegalStateException in safe mode, naming the layer, when the result is not finite
     * @throws UnsupportedOperationException for a 4-bit base, or one whose weight cannot be replaced
     */
    public void merge(boolean safe) {
        if (active == null || merged.contains(active)) {
            return;
        }
        ReplaceableWeight target = writableBase();
        try (NDManager sub = scratch()) {
            NDArray l = detached(vector(active), sub);
            NDArray w = baseLayer().denseWeight(sub).mul(l);
            NDArray b = null;
            if (!feedforward.get(active) && biasParameter() != null) {
                b = detached(biasParameter(), sub).mul(l.reshape(-1));
            }
            if (safe && (notFinite(w) || (b != null && notFinite(b)))) {
                throw new IllegalStateException("merging IA3 adapter '" + active + "' into " + path
                        + " gives NaN or Inf weights; the layer is left unmerged");
            }
            target.replaceWeight(w);
            if (b != null) {
                writeBias(b);
            }
        }
        merged.add(active);
    }

    /** Divides every merged adapter out again ({@code / (l + 1e-8)}), last merged first: lossy, as PEFT. */
    public void unmerge() {
        if (merged.isEmpty()) {
            return;
        }
        LOG.warn("Unmerge result can be inaccurate for (IA)^3 ({})", path);
        ReplaceableWeight target = writableBase();
        while (!merged.isEmpty()) {
            String adapter = merged.remove(merged.size() - 1);
            try (NDManager sub = scratch()) {
                NDArray l = Scalars.add(detached(vector(adapter), sub), UNMERGE_EPSILON);
                target.replaceWeight(baseLayer().denseWeight(sub).div(l));
                if (!feedforward.get(adapter) && biasParameter() != null) {
                    writeBias(detached(biasParameter(), sub).div(l.reshape(-1)));
                }
            }
        }
    }

    private ReplaceableWeight writableBase() {
        LinearLike base = baseLayer();
        if (base instanceof QuantizedLinear) {
            throw new UnsupportedOperationException("cannot merge IA3 into the 4-bit layer " + path
                    + " (PEFT refuses too); use PeftModel.mergeAndUnloadDense(), which dequantizes first");
        }
        if (!(base instanceof ReplaceableWeight r)) {
            throw new UnsupportedOperationException("the base layer of " + path + " ("
                    + base.getClass().getSimpleName() + ") cannot have its weight replaced (ReplaceableWeight)");
        }
        return r;
    }

    private void writeBias(NDArray value) {
        Parameter bias = biasParameter();
        NDArray copy = value.toType(bias.getArray().getDataType(), true);
        copy.attach(bias.getArray().getManager());
        Params.assign(bias, copy);
    }

    private static boolean notFinite(NDArray a) {
        return a.isNaN().any().getBoolean() || a.isInfinite().any().getBoolean();
    }

    private NDManager scratch() {
        return NDManager.newBaseManager(((Module) baseLayer()).namedParameters().values().iterator().next()
                .getArray().getDevice());
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures())};
    }

    @Override
    public String toString() {
        return "Ia3Linear(" + path + ", adapters=" + feedforward.keySet() + ", active=" + active + ")";
    }
}
