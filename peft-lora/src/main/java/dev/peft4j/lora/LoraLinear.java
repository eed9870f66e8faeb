package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.adapter.MergeableLayer;
import dev.peft4j.core.adapter.RowRoutedLayer;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.nn.Dropout;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.nn.ReplaceableWeight;
import dev.peft4j.core.nn.Scalars;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A linear layer with LoRA adapters over any {@link LinearLike} base (full precision or 4-bit):
 *
 * <pre>
 *   y = base(x) + (B · A · dropout(x)) · s        s = alpha / r   (alpha / √r with rsLoRA)
 * </pre>
 *
 * with {@code A: [r, in]}, {@code B: [out, r]} and dropout only in training. With DoRA the
 * adapted weight {@code W' = W + s·B·A} is renormalized row by row to the learned magnitude {@code
 * m} ({@code [out]}): {@code y = (m / ‖W'‖)·(x·W'ᵀ) + bias}, where {@code ‖W'‖} is the L2 norm of each
 * output row, detached from the graph as in PEFT (with dropout in training the base term uses the
 * dropped input, as PEFT does).
 *
 * <p>Children have PEFT's in-memory names: {@code base_layer}, {@code lora_A.<adapter>}, {@code
 * lora_B.<adapter>} (bias-free {@link Linear}s) and {@code lora_magnitude_vector.<adapter>}. One
 * adapter is active at a time; the layer is itself {@link LinearLike} (its dense weight is the
 * effective merged one), and merging writes through {@link ReplaceableWeight}, the single hook a
 * packed base implements (re-quantizing).
 */
public final class LoraLinear extends Module implements LinearLike, MergeableLayer, RowRoutedLayer {

    /**
     * One adapter's numbers.
     *
     * @param r rank
     * @param alpha lora_alpha
     * @param scaling the factor s
     * @param dropout dropout probability on the adapter's input
     * @param useDora whether the adapter is DoRA
     */
    public record Settings(int r, double alpha, double scaling, double dropout, boolean useDora) {}

    private final String path;
    private final Map<String, Settings> settings = new LinkedHashMap<>();
    private final List<String> merged = new ArrayList<>();
    private final Map<String, float[]> doraFactors = new HashMap<>();
    private String active;
    private boolean disabled;
    private RowRouting routing;

    /**
     * @param path the layer's module path, for messages
     * @param base the layer being adapted; must be a {@link Module}
     */
    public LoraLinear(String path, LinearLike base) {
        this.path = Objects.requireNonNull(path, "path");
        if (!(base instanceof Module)) {
            throw new IllegalArgumentException("the base of " + path + " (" + base.getClass().getName()
                    + ") is not a Module");
        }
        registerModule("base_layer", (Module) base);
        registerModule("lora_A", new ModuleDict());
        registerModule("lora_B", new ModuleDict());
        registerModule("lora_magnitude_vector", new ModuleDict());
    }

    /** @return the module path this layer was put at */
    public String path() {
        return path;
    }

    /** @return the adapted base layer (the {@code base_layer} child, which may be replaced in place) */
    public LinearLike baseLayer() {
        return (LinearLike) child("base_layer");
    }

    /** The base may be swapped (say, a 4-bit layer for its dequantized copy) for a linear layer of the same shape. */
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
        return Collections.unmodifiableSet(settings.keySet());
    }

    /**
     * @param adapter an adapter name
     * @return its settings
     */
    public Settings settings(String adapter) {
        Settings s = settings.get(adapter);
        if (s == null) {
            throw new IllegalArgumentException(path + " has no adapter '" + adapter + "' (has " + settings.keySet() + ")");
        }
        return s;
    }

    /** @return the active adapter, or null when none of this layer's adapters is active */
    public String activeAdapter() {
        return active;
    }

    /** @return the adapters merged into the base weight, in merge order */
    public List<String> mergedAdapters() {
        return List.copyOf(merged);
    }

    /**
     * @param adapter an adapter name
     * @return its {@code lora_A} layer ({@code [r, in]})
     */
    public Linear loraA(String adapter) {
        settings(adapter);
        return (Linear) child("lora_A").child(adapter);
    }

    /**
     * @param adapter an adapter name
     * @return its {@code lora_B} layer ({@code [out, r]})
     */
    public Linear loraB(String adapter) {
        settings(adapter);
        return (Linear) child("lora_B").child(adapter);
    }

    /**
     * @param adapter a DoRA adapter's name
     * @return its magnitude parameter ({@code [out]})
     */
    public Parameter magnitude(String adapter) {
        if (!settings(adapter).useDora()) {
            throw new IllegalArgumentException("adapter '" + adapter + "' of " + path + " is not DoRA");
        }
        return child("lora_magnitude_vector").child(adapter).parameter("weight");
    }

    /**
     * Adds an adapter's modules with parameters declared but no arrays; {@link LoraInitializer}
     * fills them.
     *
     * @param adapter the name (letters, digits, underscores)
     * @param s its settings
     */
    void addAdapter(String adapter, Settings s) {
        if (settings.containsKey(adapter)) {
            throw new IllegalArgumentException(path + " already has an adapter '" + adapter + "'");
        }
        ((ModuleDict) child("lora_A")).put(adapter, new Linear(inFeatures(), s.r(), false));
        ((ModuleDict) child("lora_B")).put(adapter, new Linear(s.r(), outFeatures(), false));
        if (s.useDora()) {
            ((ModuleDict) child("lora_magnitude_vector")).put(adapter, new DoraMagnitude(outFeatures()));
        }
        settings.put(adapter, s);
    }

    /**
     * Removes an adapter (unmerging everything first if it is merged).
     *
     * @param adapter the name
     */
    void deleteAdapter(String adapter) {
        settings(adapter);
        if (merged.contains(adapter)) {
            unmerge();
        }
        for (String dict : List.of("lora_A", "lora_B", "lora_magnitude_vector")) {
            Map<String, Module> keep = new LinkedHashMap<>(child(dict).children());
            keep.remove(adapter);
            replaceChild(dict, new ModuleDict(keep));
        }
        settings.remove(adapter);
        if (adapter.equals(active)) {
            active = null;
        }
    }

    /**
     * @param adapter the adapter to run, or null for none; one this layer lacks means none
     */
    void setActive(String adapter) {
        active = adapter != null && settings.containsKey(adapter) ? adapter : null;
    }

    /**
     * @param disabled whether to run the base layer alone
     */
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

    @Override
    public Parameter biasParameter() {
        return baseLayer().biasParameter();
    }

    /** DoRA adapters cannot run in mixed-adapter batches (PEFT refuses them too). */
    @Override
    public void checkRoutable(String adapter) {
        Settings s = settings.get(adapter);
        if (s != null && s.useDora()) {
            throw new IllegalArgumentException("adapter '" + adapter + "' of " + path + " is DoRA, which cannot run"
                    + " in mixed-adapter batches (PEFT refuses it too)");
        }
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
     * A mixed-adapter batch: {@code base(x)} once for every row, plus {@code s·B·A·x} of each
     * adapter on its own rows; rows of {@link RowRouting#BASE} or of an adapter this layer lacks
     * get the base alone.
     */
    private NDArray routedForward(ParameterStore ps, NDArray x) {
        NDArray result = baseLayer().forward(ps, x, false);
        NDArray delta = routing.combine(x, (adapter, rows) -> {
            Settings s = settings.get(adapter);
            if (s == null) {
                return null;
            }
            // B(s·A(x)), in the order of the single-adapter forward, so a routed row equals its row alone.
            return loraB(adapter).forward(ps, Scalars.mul(loraA(adapter).forward(ps, rows, false), s.scaling()), false);
        }, result.getShape().slice(1));
        return delta == null ? result : result.add(delta.toType(result.getDataType(), false));
    }

    @Override
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        if (routing != null && !disabled) {
            routing.check(x, training, path);
            return routedForward(ps, x);
        }
        NDArray result = baseLayer().forward(ps, x, training);
        if (disabled || active == null || !merged.isEmpty()) {
            return result;
        }
        Settings s = settings.get(active);
        NDArray in = training && s.dropout() > 0 ? Dropout.apply(x, (float) s.dropout()) : x;
        NDArray down = loraA(active).forward(ps, in, training);
        if (!s.useDora()) {
            // s·B(A(x)) as B(s·A(x)): the factor scales r values per row, not out (equal up to round-off,
            // exactly for a power-of-two s), and its backward pass is as small.
            return result.add(loraB(active).forward(ps, Scalars.mul(down, s.scaling()), training));
        }
        NDArray lora = loraB(active).forward(ps, down, training);
        NDArray weight = baseLayer().denseWeight(x.getManager());
        NDArray m = ps.getValue(magnitude(active), x.getDevice(), training);
        NDArray scale = m.div(rowNorm(weight, active));
        NDArray baseResult;
        if (in == x) {
            Parameter b = baseLayer().biasParameter();
            baseResult = b == null ? result : result.sub(ps.getValue(b, x.getDevice(), training));
        } else {
            baseResult = in.matMul(weight.transpose());
        }
        return result.add(Scalars.sub(scale, 1).mul(baseResult)).add(Scalars.mul(scale.mul(lora), s.scaling()));
    }

    /** {@code ‖W + s·B·A‖} per output row, detached. */
    private NDArray rowNorm(NDArray weight, String adapter) {
        NDArray delta = rawDelta(adapter, weight.getManager());
        return weight.add(delta).square().sum(new int[] {1}).sqrt().stopGradient();
    }

    /** {@code s·B·A} for one adapter, detached, float32, in {@code manager}. */
    private NDArray rawDelta(String adapter, NDManager manager) {
        try (NDManager tmp = manager.newSubManager()) {
            NDArray a = detached(loraA(adapter).parameter("weight"), tmp);
            NDArray b = detached(loraB(adapter).parameter("weight"), tmp);
            NDArray d = b.matMul(a).mul(settings(adapter).scaling()).toType(DataType.FLOAT32, false);
            d.attach(manager);
            return d;
        }
    }

    private static NDArray detached(Parameter p, NDManager manager) {
        NDArray a = p.getArray().stopGradient();
        a.attach(manager);
        return a;
    }

    /**
     * The weight update an adapter stands for, {@code s·B·A}, without DoRA's renormalization.
     *
     * @param adapter the adapter
     * @param manager owner of the result
     * @return {@code [out, in]} float32
     */
    public NDArray deltaWeight(String adapter, NDManager manager) {
        return rawDelta(adapter, manager);
    }

    /** @return the effective weight: merged, or base plus the active adapter (DoRA-aware) */
    @Override
    public NDArray denseWeight(NDManager manager) {
        NDArray w = baseLayer().denseWeight(manager);
        if (disabled || active == null || !merged.isEmpty()) {
            return w;
        }
        return adapted(w, active, manager);
    }

    private NDArray adapted(NDArray w, String adapter, NDManager manager) {
        NDArray sum = w.add(rawDelta(adapter, manager));
        if (!settings(adapter).useDora()) {
            return sum;
        }
        NDArray norm = sum.square().sum(new int[] {1}).sqrt();
        return sum.mul(detached(magnitude(adapter), manager).div(norm).reshape(-1, 1));
    }

    /**
     * Writes the active adapter into the base weight ({@code W ← W + s·B·A}, or DoRA's
     * {@code (m/‖W + s·B·A‖)·(W + s·B·A)}); a merged layer runs the base alone. Merging again is a
     * no-op.
     *
     * @param safe check the merged weight for NaN/Inf before writing it
     * @throws IllegalStateException in safe mode, naming the layer, when the result is not finite
     */
    public void merge(boolean safe) {
        if (active == null || merged.contains(active)) {
            return;
        }
        try (NDManager sub = scratch(active)) {
            NDArray sum = baseLayer().denseWeight(sub).add(rawDelta(active, sub));
            NDArray out = sum;
            float[] factor = null;
            if (settings(active).useDora()) {
                NDArray f = detached(magnitude(active), sub).div(sum.square().sum(new int[] {1}).sqrt());
                factor = f.toFloatArray();
                out = sum.mul(f.reshape(-1, 1));
            }
            if (safe && (out.isNaN().any().getBoolean() || out.isInfinite().any().getBoolean())) {
                throw new IllegalStateException("merging adapter '" + active + "' into " + path
                        + " gives NaN or Inf weights; the layer is left unmerged");
            }
            writeBaseWeight(out);
            if (factor != null) {
                doraFactors.put(active, factor);
            }
        }
        merged.add(active);
    }

    /** Subtracts every merged adapter again, last merged first (DoRA: divides its factor out first). */
    public void unmerge() {
        while (!merged.isEmpty()) {
            String adapter = merged.remove(merged.size() - 1);
            try (NDManager sub = scratch(adapter)) {
                NDArray w = baseLayer().denseWeight(sub);
                float[] factor = doraFactors.remove(adapter);
                if (factor != null) {
                    w = w.div(sub.create(factor, new Shape(factor.length, 1)));
                }
                writeBaseWeight(w.sub(rawDelta(adapter, sub)));
            }
        }
    }

    /**
     * Writes a dense weight into the base through its {@link ReplaceableWeight} hook (a 4-bit base
     * re-quantizes).
     *
     * @param dense the new weight {@code [out, in]}, left open
     * @throws UnsupportedOperationException when the base has no such hook
     */
    void writeBaseWeight(NDArray dense) {
        LinearLike base = baseLayer();
        if (!(base instanceof ReplaceableWeight r)) {
            throw new UnsupportedOperationException("the base layer of " + path + " ("
                    + base.getClass().getSimpleName() + ") cannot have its weight replaced (ReplaceableWeight),"
                    + " which merging and PiSSA need");
        }
        r.replaceWeight(dense);
    }

    /** A scratch manager on the device of the adapter's arrays. */
    private NDManager scratch(String adapter) {
        return NDManager.newBaseManager(loraA(adapter).parameter("weight").getArray().getDevice());
    }

    /**
     * Sets an adapter's A and B (and DoRA magnitude) arrays, for initializers and loading.
     *
     * @param adapter the adapter
     * @param a {@code [r, in]}
     * @param b {@code [out, r]}
     */
    void assign(String adapter, NDArray a, NDArray b) {
        Params.assign(loraA(adapter).parameter("weight"), a);
        Params.assign(loraB(adapter).parameter("weight"), b);
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
        return "LoraLinear(" + path + ", adapters=" + settings.keySet() + ", active=" + active + ")";
    }
}
