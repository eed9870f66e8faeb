package dev.peft4j.core.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.adapter.TrainableParameters;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.nn.QuantizedLinear;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A frozen base model with named adapters of one PEFT method, like PEFT's {@code PeftModel}.
 *
 * <pre>{@code
 * PeftModel<BertModel> peft = PeftModel.wrap(bert, LoraConfig.builder().setTargetModules("query", "value").build(), manager);
 * peft.printTrainableParameters();   // trainable params: 73,728 || all params: 22,786,944 || trainable%: 0.3236
 * // ... train peft (a Block: forward runs the adapted base) ...
 * peft.save(dir);                    // adapter_config.json + adapter_model.safetensors, as PEFT writes
 * BertModel merged = PeftModel.load(freshBert, dir, manager).mergeAndUnload();
 * }</pre>
 *
 * <p>Wrapping freezes every base parameter and lets the method ({@link PeftMethod}, chosen by the
 * config's {@code peft_type}) inject the adapter, for LoRA by replacing each target layer in place;
 * the base is held as child {@code base_model.model}, so parameter paths are PEFT's ({@code
 * base_model.model.encoder.layer.0.attention.self.query.lora_A.default.weight}). Several adapters
 * can be added; exactly one is active, and only its parameters (as its method says, plus its {@code
 * modules_to_save} copies) require gradients, unless its config is in inference mode. Random
 * initialization is seeded ({@link #wrap(Module, PeftConfig, NDManager, long)}; default seed 0).
 *
 * @param <M> the base model's type, given back by {@link #mergeAndUnload()} and {@link #unload()}
 */
public class PeftModel<M extends Module> extends Module {

    private static final Logger LOG = LoggerFactory.getLogger(PeftModel.class);
    private static final Pattern ADAPTER_NAME = Pattern.compile("[A-Za-z0-9_]+");

    /** PEFT's name of the first adapter. */
    public static final String DEFAULT_ADAPTER = "default";

    /** The weights file of a PEFT adapter directory. */
    public static final String WEIGHTS_FILE = AdapterFiles.WEIGHTS_FILE;

    private final M base;
    private final NDManager manager;
    private final long seed;
    private final Map<String, PeftConfig> configs = new LinkedHashMap<>();
    private final ModulesToSave modulesToSave = new ModulesToSave();
    private PeftMethod<PeftConfig> method;
    private String active;
    private boolean disabled;
    private boolean unloaded;
    private AdapterRouting routing;

    /**
     * An empty wrapper (no adapter yet): the base is frozen; add adapters with {@link #addAdapter}
     * or {@link #loadAdapter}, then {@link #setAdapter}. {@link #wrap} and {@link #load} do this.
     *
     * @param base the model, fully initialized; changed in place
     * @param manager owner of the adapter arrays (their device)
     * @param seed seed of the random initialization
     */
    protected PeftModel(M base, NDManager manager, long seed) {
        this.base = Objects.requireNonNull(base, "base");
        this.manager = Objects.requireNonNull(manager, "manager");
        this.seed = seed;
        ModuleDict baseModel = new ModuleDict();
        baseModel.put("model", base);
        registerModule("base_model", baseModel);
        base.freeze(p -> true);
    }

    /**
     * PEFT's {@code get_peft_model(model, config)}: {@link #wrap(Module, PeftConfig, NDManager,
     * long)} with seed 0, the adapter arrays owned by the manager of the base's weights (for a
     * model from {@code fromPretrained}, the model's own, freed when it is closed).
     *
     * @param base the model, fully initialized; changed in place
     * @param config the adapter's configuration
     * @param <M> the base model's type
     * @return the wrapped model with adapter {@value #DEFAULT_ADAPTER} active
     * @throws IllegalArgumentException when the base has no parameters (give a manager then)
     */
    public static <M extends Module> PeftModel<M> wrap(M base, PeftConfig config) {
        return wrap(base, config, managerOf(base), 0L);
    }

    /**
     * {@link #wrap(Module, PeftConfig)} with the adapter's initialization drawn from {@code seed}
     * (repeating a comparison over seeds).
     *
     * @param base the model, fully initialized; changed in place
     * @param config the adapter's configuration
     * @param seed seeds the adapter's random initialization
     * @param <M> the base model's type
     * @return the wrapped model with adapter {@value #DEFAULT_ADAPTER} active
     * @throws IllegalArgumentException when the base has no parameters (give a manager then)
     */
    public static <M extends Module> PeftModel<M> wrap(M base, PeftConfig config, long seed) {
        return wrap(base, config, managerOf(base), seed);
    }

    /**
     * PEFT's {@code PeftModel.from_pretrained(model, dir)}: {@link #load(Module, Path, NDManager,
     * boolean)} in inference mode, the adapter arrays owned by the manager of the base's weights.
     *
     * @param base the model it was trained on, fully initialized; changed in place
     * @param dir the adapter directory
     * @param <M> the base model's type
     * @return the model with adapter {@value #DEFAULT_ADAPTER} active
     */
    public static <M extends Module> PeftModel<M> load(M base, Path dir) {
        return load(base, dir, managerOf(base), false);
    }

    /** The manager owning the base's first parameter array: where its weights live. */
    private static NDManager managerOf(Module base) {
        Objects.requireNonNull(base, "base");
        return base.getParameters().values().stream()
                .filter(p -> p.isInitialized())
                .map(p -> p.getArray().getManager())
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(base.getClass().getSimpleName()
                        + " has no initialized parameters to take a manager from; pass one"));
    }

    /**
     * {@link #wrap(Module, PeftConfig, NDManager, long)} with seed 0.
     *
     * @param base the model, fully initialized; changed in place
     * @param config the adapter's configuration
     * @param manager owner of the adapter arrays (its device is theirs)
     * @param <M> the base model's type
     * @return the wrapped model with adapter {@value #DEFAULT_ADAPTER} active
     */
    public static <M extends Module> PeftModel<M> wrap(M base, PeftConfig config, NDManager manager) {
        return wrap(base, config, manager, 0L);
    }

    /**
     * Freezes the base, injects adapter {@value #DEFAULT_ADAPTER} and activates it.
     *
     * @param base the model, fully initialized; changed in place
     * @param config the adapter's configuration
     * @param manager owner of the adapter arrays
     * @param seed seed of the random initialization
     * @param <M> the base model's type
     * @return the wrapped model
     * @throws IllegalArgumentException when no target matches or a target cannot be adapted (the
     *     base is then unchanged apart from being frozen), or the config's method is unknown
     */
    public static <M extends Module> PeftModel<M> wrap(M base, PeftConfig config, NDManager manager, long seed) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(manager, "manager");
        PeftModel<M> m = new PeftModel<>(base, manager, seed);
        m.addAdapter(DEFAULT_ADAPTER, config);
        m.setAdapter(DEFAULT_ADAPTER);
        return m;
    }

    /**
     * Loads an adapter saved by PEFT or by {@link #save} onto {@code base}, frozen (inference mode),
     * as PEFT's {@code PeftModel.from_pretrained}; the method is chosen by the file's {@code
     * peft_type}.
     *
     * @param base the model it was trained on, fully initialized; changed in place
     * @param dir the adapter directory
     * @param manager owner of the adapter arrays
     * @param <M> the base model's type
     * @return the model with adapter {@value #DEFAULT_ADAPTER} active
     */
    public static <M extends Module> PeftModel<M> load(M base, Path dir, NDManager manager) {
        return load(base, dir, manager, false);
    }

    /**
     * @param base the model, fully initialized; changed in place
     * @param dir the adapter directory
     * @param manager owner of the adapter arrays
     * @param trainable whether the adapter trains ({@code is_trainable}); otherwise inference mode
     * @param <M> the base model's type
     * @return the model with adapter {@value #DEFAULT_ADAPTER} active
     * @throws IllegalArgumentException for an unknown {@code peft_type}, a missing key, a shape
     *     mismatch or an invalid config, naming the file, tensor or field
     * @throws UncheckedIOException when the files cannot be read
     */
    public static <M extends Module> PeftModel<M> load(M base, Path dir, NDManager manager, boolean trainable) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(manager, "manager");
        PeftModel<M> m = new PeftModel<>(base, manager, 0L);
        m.loadAdapter(dir, DEFAULT_ADAPTER, trainable);
        m.setAdapter(DEFAULT_ADAPTER);
        return m;
    }

    /** @return the base model (with adapter layers in it until {@link #unload}) */
    public M baseModel() {
        return base;
    }

    /** @return the owner of the adapter arrays */
    public NDManager manager() {
        return manager;
    }

    /** @return the method of this model's adapters; null before the first adapter */
    public PeftMethod<? extends PeftConfig> method() {
        return method;
    }

    /** @return adapter names, in the order they were added */
    public Set<String> adapterNames() {
        return Collections.unmodifiableSet(configs.keySet());
    }

    /** @return the active adapter */
    public String activeAdapter() {
        return active;
    }

    /**
     * @param adapter an adapter name
     * @return its configuration as resolved for this base (for LoRA, {@code "all-linear"} expanded;
     *     {@code modules_to_save} completed for {@code SEQ_CLS})
     */
    public PeftConfig config(String adapter) {
        PeftConfig c = configs.get(adapter);
        if (c == null) {
            throw new IllegalArgumentException("no adapter '" + adapter + "' (adapters: " + configs.keySet() + ")");
        }
        return c;
    }

    /**
     * @param adapter an adapter name
     * @param type the method's configuration class
     * @param <C> that class
     * @return its configuration
     * @throws IllegalArgumentException when it is of another class
     */
    public <C extends PeftConfig> C config(String adapter, Class<C> type) {
        PeftConfig c = config(adapter);
        if (!type.isInstance(c)) {
            throw new IllegalArgumentException("adapter '" + adapter + "' is " + c.peftType() + ", not a "
                    + type.getSimpleName());
        }
        return type.cast(c);
    }

    /**
     * @param adapter an adapter name
     * @return the module paths holding that adapter, in tree order
     */
    public List<String> targetPaths(String adapter) {
        config(adapter);
        return method.adaptedPaths(base, adapter);
    }

    /**
     * Adds an adapter (inactive until {@link #setAdapter}); all or nothing.
     *
     * @param adapter the name: letters, digits, underscores
     * @param config its configuration
     * @throws IllegalArgumentException for a taken or invalid name, a method other than this
     *     model's, no matching target, a target the method cannot adapt or an uncopyable module to save
     */
    public void addAdapter(String adapter, PeftConfig config) {
        Objects.requireNonNull(config, "config");
        addAdapter(adapter, config, false);
    }

    private void addAdapter(String adapter, PeftConfig config, boolean loading) {
        checkOpen();
        if (adapter == null || !ADAPTER_NAME.matcher(adapter).matches()) {
            throw new IllegalArgumentException("invalid adapter name '" + adapter + "': use letters, digits and _");
        }
        if (configs.containsKey(adapter)) {
            throw new IllegalArgumentException("adapter '" + adapter + "' already exists");
        }
        PeftMethod<PeftConfig> m = methodFor(config);
        List<String> targets = m.targets(base, config);
        List<String> save = new ArrayList<>();
        if (config.modulesToSave() != null) {
            save.addAll(modulesToSave.resolve(base, config.modulesToSave(), true, targets, m.peftType()));
        }
        List<String> auto = new ArrayList<>();
        if ("SEQ_CLS".equals(config.taskType())) {
            for (String n : List.of("classifier", "score")) {
                List<String> found = modulesToSave.resolve(base, List.of(n), false, targets, m.peftType());
                if (!found.isEmpty()) {
                    auto.add(n);
                    found.stream().filter(p -> !save.contains(p)).forEach(save::add);
                }
            }
        }
        Map<String, Module> copies = modulesToSave.prepare(base, save, manager);
        PeftConfig resolved = m.inject(base, adapter, config, new PeftMethod.Context(manager, seed, loading));
        method = m;
        modulesToSave.add(base, adapter, copies);
        if (!auto.isEmpty()) {
            LinkedHashSet<String> names = new LinkedHashSet<>(
                    resolved.modulesToSave() == null ? List.of() : resolved.modulesToSave());
            names.addAll(auto);
            resolved = resolved.withModulesToSave(new ArrayList<>(names));
        }
        configs.put(adapter, resolved);
        applyState();
    }

    @SuppressWarnings("unchecked")
    private PeftMethod<PeftConfig> methodFor(PeftConfig config) {
        PeftMethod<PeftConfig> m = (PeftMethod<PeftConfig>) (PeftMethod<?>) PeftMethods.forConfig(config);
        if (method != null && !configs.isEmpty() && !method.peftType().equals(m.peftType())) {
            throw new IllegalArgumentException("cannot add a " + m.peftType() + " adapter to a model with "
                    + method.peftType() + " adapters " + configs.keySet() + ": a PeftModel holds one method");
        }
        return m;
    }

    /**
     * Makes {@code adapter} the one that runs and trains. A merged model is unmerged first, with a
     * warning, as PEFT's {@code set_adapter} does, so the new adapter never runs over another's
     * merged weights.
     *
     * @param adapter an existing adapter
     */
    public void setAdapter(String adapter) {
        checkOpen();
        checkNotRouted("setAdapter");
        config(adapter);
        if (isMerged()) {
            LOG.warn("Adapter cannot be set when the model is merged. Unmerging the model first.");
            unmerge();
        }
        active = adapter;
        applyState();
    }

    /**
     * Removes an adapter; when it was active, the first remaining one becomes active.
     *
     * @param adapter an existing adapter
     */
    public void deleteAdapter(String adapter) {
        checkOpen();
        checkNotRouted("deleteAdapter");
        config(adapter);
        method.delete(base, adapter);
        modulesToSave.delete(base, adapter);
        configs.remove(adapter);
        if (adapter.equals(active)) {
            active = configs.isEmpty() ? null : configs.keySet().iterator().next();
        }
        applyState();
    }

    /** A scope in which the base model runs without adapters; closing it restores them. */
    public final class AdaptersDisabled implements AutoCloseable {

        private boolean open = true;

        private AdaptersDisabled() {}

        /** Re-enables the adapters. */
        @Override
        public void close() {
            if (open) {
                open = false;
                disabled = false;
                applyState();
            }
        }
    }

    /**
     * Runs the plain base model until the returned scope is closed (merged adapters are unmerged
     * first, as PEFT does).
     *
     * <pre>{@code
     * try (PeftModel<?>.AdaptersDisabled off = peft.disableAdapters()) {
     *     baseOutput = peft.forward(ps, inputs, false);
     * }
     * }</pre>
     *
     * @return the scope
     */
    public AdaptersDisabled disableAdapters() {
        checkOpen();
        checkNotRouted("disableAdapters");
        unmerge();
        disabled = true;
        applyState();
        return new AdaptersDisabled();
    }

    /**
     * Starts a mixed-adapter batch, as PEFT's {@code adapter_names}: until the returned scope is
     * closed, row {@code i} of every forward pass runs adapter {@code adapterNames.get(i)}, or the
     * base model alone for {@link RowRouting#BASE} ({@code "__base__"}). Each routed layer computes
     * its base output once for the whole batch and each adapter's part on that adapter's rows only,
     * so a row gets what it would get alone with its adapter active. The typed models' {@code
     * embed}, {@code predict} and {@code generateIds} take one name per input (split into passes
     * as usual; generation routes every decoding step through the KV cache); a direct forward needs
     * exactly {@code adapterNames.size()} rows. {@code modules_to_save} heads (linear) are routed
     * too. Inference only: a forward with {@code training=true} fails. Like {@link #setAdapter},
     * the routing is state of the model: one routed call at a time.
     *
     * <pre>{@code
     * try (AdapterRouting r = peft.routeRows(List.of("support", "__base__", "legal"))) {
     *     List<Prediction> p = classifier.predict(List.of("refund please", "hello", "the contract says"));
     * }
     * }</pre>
     *
     * @param adapterNames one loaded adapter (or {@code "__base__"}) per row
     * @return the scope; close it to run the active adapter again
     * @throws IllegalArgumentException for an unknown name (naming it and the loaded adapters), no
     *     names, or an adapter a layer cannot route (a DoRA adapter, as PEFT)
     * @throws IllegalStateException when adapters are merged or disabled, or a routing is open
     * @throws UnsupportedOperationException for a method whose layers cannot route rows (prompt
     *     learning, bottleneck adapters, BitFit), naming it
     */
    public AdapterRouting routeRows(List<String> adapterNames) {
        checkOpen();
        if (routing != null && routing.isOpen()) {
            throw new IllegalStateException("a mixed-adapter batch is already routed on this model; close it first");
        }
        if (isMerged()) {
            throw new IllegalStateException("cannot route rows to adapters while adapters are merged;"
                    + " call unmerge() first");
        }
        if (disabled) {
            throw new IllegalStateException("cannot route rows to adapters while adapters are disabled");
        }
        routing = AdapterRouting.open(base, method, configs.keySet(), modulesToSave, adapterNames, () -> {
            routing = null;
            applyState();
        });
        return routing;
    }

    private void applyState() {
        String run = disabled ? null : active;
        if (method != null) {
            method.activate(base, run, disabled);
        }
        modulesToSave.activate(base, run);
        freeze(p -> true);
        if (run == null || config(run).inferenceMode()) {
            return;
        }
        for (Parameter p : method.trainableParameters(base, run, config(run))) {
            p.freeze(false);
        }
        for (String path : modulesToSave.copiesOf(run).keySet()) {
            base.unfreeze(p -> p.startsWith(path + "."));
        }
    }

    /** {@link #merge(boolean)} without the safety check. */
    public void merge() {
        merge(false);
    }

    /**
     * Merges the active adapter into the base weights (a no-op where it is merged already).
     *
     * @param safe check each merged weight for NaN/Inf first; on failure what this call merged is
     *     unmerged again and the exception names the layer
     * @throws UnsupportedOperationException when the method cannot merge, naming it
     */
    public void merge(boolean safe) {
        checkOpen();
        checkNotRouted("merge");
        checkMergeable();
        method.merge(base, active, safe);
    }

    /** Restores the base weights of everything merged. */
    public void unmerge() {
        checkOpen();
        if (method != null) {
            method.unmerge(base);
        }
    }

    /** @return whether any adapter is merged */
    public boolean isMerged() {
        return method != null && method.isMerged(base);
    }

    /** {@link #mergeAndUnload(boolean)} without the safety check. */
    public M mergeAndUnload() {
        return mergeAndUnload(false);
    }

    /**
     * Merges the active adapter and returns the plain base model: adapter layers replaced by their
     * base layers, {@code modules_to_save} holding the active adapter's trained copies. This
     * wrapper is unusable afterwards.
     *
     * @param safe as in {@link #merge(boolean)}
     * @return the base model
     * @throws UnsupportedOperationException when the method cannot merge (nothing is changed)
     */
    public M mergeAndUnload(boolean safe) {
        merge(safe);
        return unload();
    }

    /** {@link #mergeAndUnloadDense(boolean)} without the safety check. */
    public M mergeAndUnloadDense() {
        return mergeAndUnloadDense(false);
    }

    /**
     * The deployment path for QLoRA: every {@link QuantizedLinear} of the model, adapted or not,
     * becomes a float32 {@link Linear} holding its dequantized weight, the active adapter is merged
     * into those dense weights (no re-quantization, so the merged model computes what the adapted
     * 4-bit model computes, up to float rounding), and the plain base model is returned; as
     * transformers' {@code dequantize()} followed by PEFT's {@code merge_and_unload()}. On a
     * full-precision base it is {@link #mergeAndUnload(boolean)}. This wrapper is unusable
     * afterwards.
     *
     * @param safe as in {@link #merge(boolean)}; after a failed check the wrapper stays usable,
     *     over the dequantized layers
     * @return the base model, without quantized layers
     */
    public M mergeAndUnloadDense(boolean safe) {
        return mergeAndUnloadDense(safe, DataType.FLOAT32);
    }

    /**
     * {@link #mergeAndUnloadDense(boolean)} into dequantized layers of type {@code dtype}: FLOAT32,
     * or FLOAT16 for a CUDA deployment (dequantized and merged in float32, the sum rounded to
     * float16 once). Full-precision layers keep their type.
     *
     * @param safe as in {@link #merge(boolean)}
     * @param dtype FLOAT32 or FLOAT16
     * @return the base model, without quantized layers
     */
    public M mergeAndUnloadDense(boolean safe, DataType dtype) {
        checkOpen();
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("a dense merge is FLOAT32 or FLOAT16, got " + dtype);
        }
        checkMergeable();
        List<String> dense = QuantizedLinear.dequantizeAll(base, DataType.FLOAT32);
        if (!dense.isEmpty()) {
            LOG.info("merging into {} dequantized layers ({})", dense.size(), dtype);
        }
        M merged = mergeAndUnload(safe);
        if (dtype == DataType.FLOAT16) {
            for (String path : dense) {
                // a layer that was adapted sits at its own path again, without ".base_layer"
                String at = path.endsWith(".base_layer") ? path.substring(0, path.length() - 11) : path;
                Linear f32 = (Linear) merged.getModule(at);
                NDManager owner = f32.parameter("weight").getArray().getManager();
                merged.setModule(at, Linear.copyOf(f32, DataType.FLOAT16, owner));
                f32.parameter("weight").getArray().close();
            }
        }
        return merged;
    }

    /**
     * Returns the base model with every adapter taken out, without merging (as in PEFT, a layer
     * merged before keeps its merged weight). This wrapper is unusable afterwards.
     *
     * <p>{@code modules_to_save} as PEFT 0.20 unloads them ({@code
     * ModulesToSaveWrapper.unload_and_optionally_merge_module}, the same for {@code unload()} and
     * {@code merge_and_unload()}): each saved module's path keeps the <em>active adapter's trained
     * copy</em>, also when adapters are disabled at the time; the frozen original and the other
     * adapters' copies are dropped. A path the active adapter has no copy for keeps its original.
     * To get the untouched original head back, {@link #deleteAdapter delete} the adapters instead.
     *
     * @return the base model
     * @throws IllegalStateException while a mixed-adapter batch is routed ({@link #routeRows})
     */
    public M unload() {
        checkOpen();
        checkNotRouted("unload");
        if (method != null) {
            method.unload(base);
        }
        modulesToSave.activate(base, active);
        unloaded = true;
        return base;
    }

    /** @return trainable and total parameter counts of the whole model */
    public TrainableParameters trainableParameters() {
        return TrainableParameters.of(this);
    }

    /** Prints PEFT's line, {@code trainable params: … || all params: … || trainable%: …}, to stdout. */
    public void printTrainableParameters() {
        System.out.println(trainableParameters());
    }

    /**
     * One adapter's parameters under their saved keys: the method's ({@link
     * PeftMethod#savedParameters}) then its {@code modules_to_save} copies under {@link
     * PeftMethod#modulesToSavePrefix()}.
     *
     * @param adapter an adapter
     * @return key → live parameter, in a fixed order
     */
    public Map<String, Parameter> adapterParameters(String adapter) {
        PeftConfig cfg = config(adapter);
        Map<String, Module> copies = modulesToSave.copiesOf(adapter);
        String prefix = method.modulesToSavePrefix();
        Map<String, Parameter> out = new LinkedHashMap<>();
        method.savedParameters(base, adapter, cfg).forEach((k, p) -> {
            if (copies.keySet().stream().noneMatch(c -> k.startsWith(prefix + c + "."))) {
                out.put(k, p);
            }
        });
        for (Map.Entry<String, Module> c : copies.entrySet()) {
            c.getValue().namedParameters().forEach((k, v) -> out.put(prefix + c.getKey() + "." + k, v));
        }
        return out;
    }

    /**
     * One adapter's tensors under their saved keys (for LoRA, PEFT's {@code
     * base_model.model.<path>.lora_A.weight}, …).
     *
     * @param adapter an adapter
     * @return key → array (the live arrays, not copies)
     */
    public Map<String, NDArray> adapterStateDict(String adapter) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        adapterParameters(adapter).forEach((k, p) -> out.put(k, p.getArray()));
        return out;
    }

    /**
     * Saves every adapter in PEFT's layout: {@value #DEFAULT_ADAPTER} in {@code dir}, any other in
     * {@code dir/<name>}; each as the method's configuration file (PEFT's {@code
     * adapter_config.json}, with {@code inference_mode: true} as PEFT writes it) and weights file
     * (metadata {@code format: pt}, the config's SHA-256 and the base's quantization). Both files
     * are written to a temporary directory and each is renamed into place; the pair is not replaced
     * atomically, so loading warns when the weights were saved with another config (see {@link
     * AdapterFiles#CONFIG_DIGEST_KEY}).
     *
     * @param dir the target directory (created when absent)
     * @throws UncheckedIOException when writing fails
     */
    public void save(Path dir) {
        Objects.requireNonNull(dir, "dir");
        checkOpen();
        try {
            Files.createDirectories(dir);
            for (String adapter : configs.keySet()) {
                Path target = adapter.equals(DEFAULT_ADAPTER) ? dir : dir.resolve(adapter);
                try (NDManager scratch = manager.newSubManager()) {
                    Map<String, NDArray> arrays = adapterStateDict(adapter);
                    arrays.putAll(method.computedTensors(base, adapter, config(adapter), scratch));
                    AdapterDirectory.write(method, config(adapter).withInferenceMode(true), arrays,
                            AdapterFiles.baseQuantization(base), target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save adapters to " + dir, e);
        }
    }

    /**
     * Loads another adapter from {@code dir} under {@code adapter} (not activated); the method is
     * chosen by the file's {@code peft_type}.
     *
     * @param dir the adapter directory
     * @param adapter the name to give it
     * @param trainable whether it trains when active
     * @throws IllegalArgumentException for an unknown {@code peft_type} (naming it, the file and
     *     the known types), an invalid config or mismatched weights
     * @throws UncheckedIOException when the files cannot be read
     */
    public void loadAdapter(Path dir, String adapter, boolean trainable) {
        Objects.requireNonNull(dir, "dir");
        AdapterDirectory.Read read = AdapterDirectory.read(dir);
        PeftConfig cfg = read.config().withInferenceMode(!trainable);
        Path weights = dir.resolve(read.method().weightsFileName());
        try (TensorSource src = TensorSources.open(weights)) {
            String mismatch = AdapterFiles.quantizationMismatch(src.metadata().get(AdapterFiles.BASE_QUANTIZATION_KEY),
                    AdapterFiles.baseQuantization(base));
            if (mismatch != null) {
                LOG.warn("{}: {}", dir, mismatch);
            }
            if (!AdapterFiles.savedWith(src, read.file())) {
                LOG.warn("{} was saved with another {} than the one beside it (edited since, or a save that was"
                        + " interrupted between the two files); loading the pair as it is", weights,
                        read.file().getFileName());
            }
            loadAdapter(cfg, src, adapter);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + weights, e);
        }
    }

    /**
     * Adds adapter {@code adapter} with {@code cfg} and fills it from {@code src} (its saved keys),
     * checking every tensor before assigning any.
     *
     * @param cfg the adapter's configuration
     * @param src its tensors
     * @param adapter the name to give it
     */
    public void loadAdapter(PeftConfig cfg, TensorSource src, String adapter) {
        Objects.requireNonNull(cfg, "cfg");
        addAdapter(adapter, cfg, true);
        try {
            AdapterDirectory.fill(adapterParameters(adapter), src, manager);
        } catch (IOException e) {
            deleteAdapter(adapter);
            throw new UncheckedIOException("cannot read adapter weights from " + src.location(), e);
        } catch (RuntimeException e) {
            deleteAdapter(adapter);
            throw e;
        }
        applyState();
    }

    private void checkMergeable() {
        if (method != null && !method.supportsMerge()) {
            throw method.cannotMerge();
        }
    }

    private void checkNotRouted(String what) {
        if (routing != null) {
            throw new IllegalStateException("cannot " + what + " while a mixed-adapter batch is routed (routeRows);"
                    + " close it first");
        }
    }

    private void checkOpen() {
        if (unloaded) {
            throw new IllegalStateException("this PeftModel was unloaded; use the returned base model");
        }
    }

    /** Runs the adapted base model. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        if (routing != null) {
            if (training) {
                throw new IllegalStateException("mixed-adapter batches (routeRows) are for inference: forward was"
                        + " called with training=true");
            }
            routing.routing().checkRows((int) inputs.get(0).getShape().get(0), "forward");
        }
        return base.forward(ps, inputs, training, params);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return base.getOutputShapes(inputShapes);
    }

    @Override
    public String toString() {
        return "PeftModel(" + base.getClass().getSimpleName() + ", adapters=" + configs.keySet() + ", active=" + active + ")";
    }
}
