package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.adapter.AdapterInjector;
import dev.peft4j.core.adapter.TargetMatcher;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.adapter.TrainableParameters;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.nn.Params;
import dev.peft4j.quant.QuantState;
import dev.peft4j.quant.nn.Linear4bit;
import dev.peft4j.quant.nn.Quantizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;
import java.util.Optional;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A base model with LoRA adapters, like PEFT's {@code PeftModel}/{@code LoraModel}.
 *
 * <pre>{@code
 * PeftModel peft = PeftModel.wrap(bert, LoraConfig.builder().setTargetModules("query", "value").build(), manager);
 * peft.printTrainableParameters();   // trainable params: 18,432 || all params: 22,731,648 || trainable%: 0.0811
 * ... train peft (a Block: forward runs the adapted base) ...
 * peft.save(dir);                    // adapter_config.json + adapter_model.safetensors, as PEFT writes
 * Module merged = PeftModel.load(freshBert, dir, manager).mergeAndUnload();
 * }</pre>
 *
 * <p>Wrapping freezes every base parameter and replaces each target layer, in place, by a {@link
 * LoraLinear}; the base is held as child {@code base_model.model}, so parameter paths are PEFT's
 * ({@code base_model.model.encoder.layer.0.attention.self.query.lora_A.default.weight}). Several
 * adapters can be added; exactly one is active, and only its parameters (plus its {@code
 * modules_to_save} copies and, per {@code bias}, biases) require gradients, unless its config is in
 * inference mode. Random initialization is seeded ({@link #wrap(Module, LoraConfig, NDManager,
 * long)}; default seed 0), per layer from the seed and the layer's path.
 */
public final class PeftModel extends Module {

    private static final Logger LOG = LoggerFactory.getLogger(PeftModel.class);
    private static final Pattern ADAPTER_NAME = Pattern.compile("[A-Za-z0-9_]+");

    /** PEFT's name of the first adapter. */
    public static final String DEFAULT_ADAPTER = "default";

    /**
     * Weights-file metadata key holding the SHA-256 of the {@code adapter_config.json} saved with
     * them: each file is replaced atomically but the pair is not, so a load warns when they differ.
     */
    static final String CONFIG_DIGEST_KEY = "peft4j_adapter_config_sha256";

    /**
     * Weights-file metadata key naming the 4-bit quantization of the base the adapter was trained
     * over (QLoRA), e.g. {@code nf4, blocksize 64, double quant}; absent for a full-precision base.
     * PEFT's config has no such field; a load onto a base quantized otherwise warns.
     */
    static final String BASE_QUANTIZATION_KEY = "peft4j_base_quantization";
    /** The weights file in an adapter directory. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private final Module base;
    private final NDManager manager;
    private final long seed;
    private final Map<String, LoraConfig> configs = new LinkedHashMap<>();
    private final ModulesToSave modulesToSave = new ModulesToSave();
    private String active;
    private boolean disabled;
    private boolean unloaded;

    private PeftModel(Module base, NDManager manager, long seed) {
        this.base = base;
        this.manager = manager;
        this.seed = seed;
        ModuleDict baseModel = new ModuleDict();
        baseModel.put("model", base);
        registerModule("base_model", baseModel);
    }

    /**
     * {@link #wrap(Module, LoraConfig, NDManager, long)} with seed 0.
     *
     * @param base the model, fully initialized; changed in place
     * @param config the adapter's configuration
     * @param manager owner of the adapter arrays (its device is theirs)
     * @return the wrapped model with adapter {@value #DEFAULT_ADAPTER} active
     */
    public static PeftModel wrap(Module base, LoraConfig config, NDManager manager) {
        return wrap(base, config, manager, 0L);
    }

    /**
     * Freezes the base, injects adapter {@value #DEFAULT_ADAPTER} and activates it.
     *
     * @param base the model, fully initialized; changed in place
     * @param config the adapter's configuration
     * @param manager owner of the adapter arrays
     * @param seed seed of the random initialization
     * @return the wrapped model
     * @throws IllegalArgumentException when no target matches or a target cannot be adapted (the
     *     base is then unchanged apart from being frozen)
     */
    public static PeftModel wrap(Module base, LoraConfig config, NDManager manager, long seed) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(manager, "manager");
        PeftModel m = new PeftModel(base, manager, seed);
        base.freeze(p -> true);
        m.addAdapter(DEFAULT_ADAPTER, config);
        m.setAdapter(DEFAULT_ADAPTER);
        return m;
    }

    /** @return the base model (with adapter layers in it until {@link #unload}) */
    public Module baseModel() {
        return base;
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
     * @return its configuration (targets resolved: {@code "all-linear"} expanded, {@code modules_to_save}
     *     completed for {@code SEQ_CLS})
     */
    public LoraConfig config(String adapter) {
        LoraConfig c = configs.get(adapter);
        if (c == null) {
            throw new IllegalArgumentException("no adapter '" + adapter + "' (adapters: " + configs.keySet() + ")");
        }
        return c;
    }

    /**
     * @param adapter an adapter name
     * @return the module paths holding that adapter, in tree order
     */
    public List<String> targetPaths(String adapter) {
        config(adapter);
        return loraLayers().entrySet().stream()
                .filter(e -> e.getValue().adapterNames().contains(adapter))
                .map(Map.Entry::getKey)
                .collect(Collectors.toList());
    }

    /**
     * Adds an adapter (inactive until {@link #setAdapter}); all or nothing.
     *
     * @param adapter the name: letters, digits, underscores
     * @param config its configuration
     * @throws IllegalArgumentException for a taken or invalid name, no matching target, a
     *     non-linear target or an uncopyable module to save
     */
    public void addAdapter(String adapter, LoraConfig config) {
        Objects.requireNonNull(config, "config");
        addAdapter(adapter, config, config.initLoraWeights());
    }

    private void addAdapter(String adapter, LoraConfig config, LoraInit init) {
        checkOpen();
        if (adapter == null || !ADAPTER_NAME.matcher(adapter).matches()) {
            throw new IllegalArgumentException("invalid adapter name '" + adapter + "': use letters, digits and _");
        }
        if (configs.containsKey(adapter)) {
            throw new IllegalArgumentException("adapter '" + adapter + "' already exists");
        }
        if (config.fanInFanOut()) {
            LOG.warn("fan_in_fan_out is set but peft4j linear layers store [out, in]; ignoring it");
        }
        TargetMatcher matcher = config.matcher().resolve(base);
        List<String> targets = matcher.select(base);
        List<String> save = new ArrayList<>();
        if (config.modulesToSave() != null) {
            save.addAll(modulesToSave.resolve(base, config.modulesToSave(), true, targets));
        }
        List<String> auto = new ArrayList<>();
        if ("SEQ_CLS".equals(config.taskType())) {
            for (String n : List.of("classifier", "score")) {
                List<String> found = modulesToSave.resolve(base, List.of(n), false, targets);
                if (!found.isEmpty()) {
                    auto.add(n);
                    found.stream().filter(p -> !save.contains(p)).forEach(save::add);
                }
            }
        }
        Map<String, Module> copies = modulesToSave.prepare(base, save, manager);
        AdapterInjector.inject(base, matcher, new AdapterInjector.Factory() {
            @Override
            public void check(String path, LinearLike target) {
                if (target instanceof LoraLinear l && l.adapterNames().contains(adapter)) {
                    throw new IllegalArgumentException(path + " already has adapter '" + adapter + "'");
                }
                if (!(target instanceof Module)) {
                    throw new IllegalArgumentException(path + " is not a Module");
                }
                int r = config.rankFor(path);
                if (init.kind() == LoraInit.Kind.PISSA && r > Math.min(target.inFeatures(), target.outFeatures())) {
                    throw new IllegalArgumentException("PiSSA needs r <= min(in, out) but " + path + " is "
                            + target.outFeatures() + "x" + target.inFeatures() + " and r is " + r);
                }
            }

            @Override
            public Module create(String path, LinearLike target) {
                LoraLinear layer = target instanceof LoraLinear l ? l : new LoraLinear(path, target);
                layer.addAdapter(adapter, new LoraLinear.Settings(config.rankFor(path), config.alphaFor(path),
                        config.scalingFor(path), config.loraDropout(), config.useDora()));
                LoraInitializer.initialize(layer, adapter, init, manager, new Random(seed * 1_000_003L + path.hashCode()));
                return layer;
            }
        });
        modulesToSave.add(base, adapter, copies);
        LoraConfig.Builder resolved = config.toBuilder();
        if (config.targetModules().isAllLinear()) {
            resolved.setTargetModules(matcher.targets());
        }
        if (!auto.isEmpty()) {
            LinkedHashSet<String> names = new LinkedHashSet<>(config.modulesToSave() == null ? List.of() : config.modulesToSave());
            names.addAll(auto);
            resolved.optModulesToSave(new ArrayList<>(names));
        }
        configs.put(adapter, resolved.build());
        applyState();
    }

    /**
     * Makes {@code adapter} the one that runs and trains.
     *
     * @param adapter an existing adapter
     */
    public void setAdapter(String adapter) {
        checkOpen();
        config(adapter);
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
        config(adapter);
        for (Map.Entry<String, LoraLinear> e : loraLayers().entrySet()) {
            LoraLinear l = e.getValue();
            if (l.adapterNames().contains(adapter)) {
                l.deleteAdapter(adapter);
                if (l.adapterNames().isEmpty()) {
                    base.setModule(e.getKey(), (Module) l.baseLayer());
                }
            }
        }
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
     * try (PeftModel.AdaptersDisabled off = peft.disableAdapters()) {
     *     baseOutput = peft.forward(ps, inputs, false);
     * }
     * }</pre>
     *
     * @return the scope
     */
    public AdaptersDisabled disableAdapters() {
        checkOpen();
        unmerge();
        disabled = true;
        applyState();
        return new AdaptersDisabled();
    }

    private void applyState() {
        String run = disabled ? null : active;
        for (LoraLinear l : loraLayers().values()) {
            l.setActive(run);
            l.setDisabled(disabled);
        }
        modulesToSave.activate(base, run);
        freeze(p -> true);
        if (run == null || config(run).inferenceMode()) {
            return;
        }
        String a = "." + run + ".";
        base.unfreeze(p -> p.contains(".lora_A" + a) || p.contains(".lora_B" + a)
                || p.contains(".lora_magnitude_vector" + a));
        for (String path : modulesToSave.copiesOf(run).keySet()) {
            base.unfreeze(p -> p.startsWith(path + "."));
        }
        LoraBias bias = config(run).bias();
        if (bias == LoraBias.ALL) {
            base.unfreeze(p -> p.endsWith("bias") && !p.contains(".lora_"));
        } else if (bias == LoraBias.LORA_ONLY) {
            for (LoraLinear l : loraLayers().values()) {
                if (l.adapterNames().contains(run) && l.biasParameter() != null) {
                    l.biasParameter().freeze(false);
                }
            }
        }
    }

    /**
     * Combines existing adapters into a new one, as PEFT's {@code add_weighted_adapter}; see
     * {@link Combination}. The new adapter has {@code lora_alpha = r}, no rank or alpha patterns,
     * no rsLoRA, and is not activated.
     *
     * @param adapters source adapters
     * @param weights one weight per source (may be negative)
     * @param name the new adapter's name
     * @param combination how to combine
     */
    public void addWeightedAdapter(List<String> adapters, List<Double> weights, String name, Combination combination) {
        addWeightedAdapter(adapters, weights, name, combination, 0);
    }

    /**
     * @param adapters source adapters
     * @param weights one weight per source
     * @param name the new adapter's name
     * @param combination how to combine
     * @param svdRank the new rank for {@link Combination#SVD}; 0 for the largest source rank
     * @throws IllegalArgumentException for unknown sources, mismatched sizes, unequal ranks with
     *     {@link Combination#LINEAR}, mixed list/regex targets, DoRA sources, or a taken name
     */
    public void addWeightedAdapter(List<String> adapters, List<Double> weights, String name,
                                   Combination combination, int svdRank) {
        checkOpen();
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new IllegalArgumentException("addWeightedAdapter needs one weight per adapter, got "
                    + adapters.size() + " adapters and " + weights.size() + " weights");
        }
        if (configs.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists");
        }
        List<LoraConfig> sources = adapters.stream().map(this::config).collect(Collectors.toList());
        if (sources.stream().anyMatch(LoraConfig::useDora)) {
            throw new IllegalArgumentException("addWeightedAdapter does not support DoRA adapters");
        }
        Combination type = adapters.size() == 1 ? Combination.LINEAR : combination;
        List<Integer> ranks = sources.stream()
                .map(c -> Stream.concat(Stream.of(c.r()), c.rankPattern().values().stream()).max(Integer::compare).get())
                .collect(Collectors.toList());
        int rank;
        if (type == Combination.LINEAR) {
            if (new TreeSet<>(ranks).size() != 1) {
                throw new IllegalArgumentException("all adapters must have the same r for the linear combination, got "
                        + ranks);
            }
            rank = ranks.get(0);
        } else if (type == Combination.CAT) {
            rank = ranks.stream().mapToInt(Integer::intValue).sum();
        } else {
            rank = svdRank > 0 ? svdRank : Collections.max(ranks);
        }
        TargetModules targets;
        if (sources.stream().allMatch(c -> c.targetModules().isList())) {
            TreeSet<String> names = new TreeSet<>();
            sources.forEach(c -> names.addAll(c.targetModules().names()));
            targets = TargetModules.of(new ArrayList<>(names));
        } else if (sources.stream().allMatch(c -> c.targetModules().isRegex())) {
            targets = TargetModules.regex(sources.stream().map(c -> "(" + c.targetModules().regexString() + ")")
                    .collect(Collectors.joining("|")));
        } else {
            throw new IllegalArgumentException("all adapters must have list targets or all regex targets to be"
                    + " combined, got " + sources.stream().map(c -> c.targetModules().toString()).collect(Collectors.toList()));
        }
        LoraConfig cfg = sources.get(0).toBuilder()
                .optR(rank).optLoraAlpha(rank).setTargetModules(targets)
                .optRankPattern(Map.of()).optAlphaPattern(Map.of()).optUseRslora(false)
                .optInitLoraWeights(LoraInit.DEFAULT)
                .build();
        addAdapter(name, cfg);
        for (LoraLinear l : loraLayers().values()) {
            if (l.adapterNames().contains(name)) {
                WeightedAdapters.combine(l, adapters, weights, type, name, manager);
            }
        }
    }

    /** {@link #merge(boolean)} without the safety check. */
    public void merge() {
        merge(false);
    }

    /**
     * Merges the active adapter into the base weights of every adapted layer (a no-op where it is
     * merged already).
     *
     * @param safe check each merged weight for NaN/Inf first; on failure the layers merged by this
     *     call are unmerged again and the exception names the layer
     */
    public void merge(boolean safe) {
        checkOpen();
        List<LoraLinear> done = new ArrayList<>();
        for (LoraLinear l : loraLayers().values()) {
            boolean was = !l.mergedAdapters().isEmpty();
            try {
                l.merge(safe);
            } catch (RuntimeException e) {
                done.forEach(LoraLinear::unmerge);
                throw e;
            }
            if (!was && !l.mergedAdapters().isEmpty()) {
                done.add(l);
            }
        }
    }

    /** Restores the base weights of every merged layer. */
    public void unmerge() {
        checkOpen();
        loraLayers().values().forEach(LoraLinear::unmerge);
    }

    /** @return whether any layer is merged */
    public boolean isMerged() {
        return loraLayers().values().stream().anyMatch(l -> !l.mergedAdapters().isEmpty());
    }

    /** {@link #mergeAndUnload(boolean)} without the safety check. */
    public Module mergeAndUnload() {
        return mergeAndUnload(false);
    }

    /**
     * Merges the active adapter and returns the plain base model: every {@link LoraLinear} replaced
     * by its base layer, {@code modules_to_save} holding the active adapter's trained copies. This
     * wrapper is unusable afterwards.
     *
     * @param safe as in {@link #merge(boolean)}
     * @return the base model
     */
    public Module mergeAndUnload(boolean safe) {
        merge(safe);
        return unload();
    }

    /** {@link #mergeAndUnloadDense(boolean)} without the safety check. */
    public Module mergeAndUnloadDense() {
        return mergeAndUnloadDense(false);
    }

    /**
     * The deployment path for QLoRA: every 4-bit layer of the model, adapted or not, becomes a
     * float32 {@link Linear} holding its dequantized weight, the active adapter is merged into
     * those dense weights (no re-quantization, so the merged model computes what the adapted
     * 4-bit model computes, up to float rounding), and the plain base model is returned; as
     * transformers' {@code dequantize()} followed by PEFT's {@code merge_and_unload()}. On a
     * full-precision base it is {@link #mergeAndUnload(boolean)}. This wrapper is unusable
     * afterwards.
     *
     * @param safe as in {@link #merge(boolean)}; after a failed check the wrapper stays usable,
     *     over the dequantized layers
     * @return the base model, without 4-bit layers
     */
    public Module mergeAndUnloadDense(boolean safe) {
        return mergeAndUnloadDense(safe, DataType.FLOAT32);
    }

    /**
     * {@link #mergeAndUnloadDense(boolean)} into dequantized layers of type {@code dtype}: FLOAT32,
     * or FLOAT16 for a CUDA deployment (dequantized and merged in float32, the sum rounded to
     * float16 once).
     * Full-precision layers keep their type.
     *
     * @param safe as in {@link #merge(boolean)}
     * @param dtype FLOAT32 or FLOAT16
     * @return the base model, without 4-bit layers
     */
    public Module mergeAndUnloadDense(boolean safe, DataType dtype) {
        checkOpen();
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("a dense merge is FLOAT32 or FLOAT16, got " + dtype);
        }
        List<String> dense = Quantizer.dequantizeModules(base, DataType.FLOAT32);
        if (!dense.isEmpty()) {
            LOG.info("merging into {} dequantized layers ({})", dense.size(), dtype);
        }
        Module merged = mergeAndUnload(safe);
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
     * Returns the base model with every {@link LoraLinear} replaced by its base layer, without
     * merging (as in PEFT, a layer merged before keeps its merged weight). This wrapper is unusable
     * afterwards.
     *
     * @return the base model
     */
    public Module unload() {
        checkOpen();
        for (Map.Entry<String, LoraLinear> e : loraLayers().entrySet()) {
            base.setModule(e.getKey(), (Module) e.getValue().baseLayer());
        }
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

    /** @return every {@link LoraLinear} of the base by path */
    public Map<String, LoraLinear> loraLayers() {
        Map<String, LoraLinear> out = new LinkedHashMap<>();
        base.namedModules().forEach((p, m) -> {
            if (m instanceof LoraLinear l) {
                out.put(p, l);
            }
        });
        return out;
    }

    /**
     * One adapter's tensors under PEFT's saved keys ({@code base_model.model.<path>.lora_A.weight}, …).
     *
     * @param adapter an adapter
     * @return key → array (the live arrays, not copies)
     */
    public Map<String, NDArray> adapterStateDict(String adapter) {
        return AdapterStateDict.arrays(base, adapter, config(adapter), modulesToSave.copiesOf(adapter));
    }

    /**
     * Saves every adapter in PEFT's layout: {@value #DEFAULT_ADAPTER} in {@code dir}, any other in
     * {@code dir/<name>}; each as {@value LoraConfigJson#FILE_NAME} (with {@code inference_mode: true},
     * as PEFT writes it) and {@value #WEIGHTS_FILE} (metadata {@code format: pt} and the config's
     * SHA-256). Both files are written to a temporary directory and each is renamed into place; the
     * pair is not replaced atomically, so loading warns when the weights were saved with another
     * config (see {@link #CONFIG_DIGEST_KEY}).
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
                saveOne(adapter, target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save adapters to " + dir, e);
        }
    }

    /**
     * @param weights an adapter's weights
     * @param config the {@code adapter_config.json} beside them
     * @return false when the weights record the digest of another config ({@link
     *     #CONFIG_DIGEST_KEY}); true when it matches or is absent (files written by PEFT)
     * @throws IOException when the config cannot be read
     */
    static boolean savedWith(TensorSource weights, Path config) throws IOException {
        String digest = weights.metadata().get(CONFIG_DIGEST_KEY);
        return digest == null || digest.equals(sha256(config));
    }

    /**
     * @param model a model
     * @return the quantization of its first 4-bit layer, e.g. {@code nf4, blocksize 64, double
     *     quant}; empty when it has none
     */
    static Optional<String> baseQuantization(Module model) {
        for (Module m : model.namedModules().values()) {
            if (m instanceof Linear4bit q && q.hasWeight()) {
                QuantState st = q.quantState();
                return Optional.of(st.quantType().bnbName() + ", blocksize " + st.blocksize()
                        + (st.nested().isPresent() ? ", double quant" : ""));
            }
        }
        return Optional.empty();
    }

    /**
     * @param trainedOver the adapter's {@link #BASE_QUANTIZATION_KEY}, or null when unknown
     * @param now the quantization of the base it is loaded onto
     * @return a warning when the adapter was trained over a 4-bit base other than this one, else
     *     null
     */
    static String quantizationMismatch(String trainedOver, Optional<String> now) {
        if (trainedOver == null || now.map(trainedOver::equals).orElse(false)) {
            return null; // unknown (saved by PEFT or an older peft4j), or the same
        }
        return "the adapter was trained over a 4-bit (" + trainedOver + ") base but is loaded onto a "
                + now.map(q -> "4-bit (" + q + ")").orElse("full-precision") + " one, so its outputs differ from"
                + " training; quantize the base the same way (on the command line: --quantize "
                + trainedOver.split(",")[0] + ", with --blocksize/--no-double-quant as in training)";
    }

    /** The SHA-256 (hex) of a file's bytes. */
    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private void saveOne(String adapter, Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp");
        try {
            LoraConfigJson.write(config(adapter).toBuilder().optInferenceMode(true).build(), tmp);
            SafetensorsWriter w = SafetensorsWriter.create().metadata("format", "pt")
                    .metadata(CONFIG_DIGEST_KEY, sha256(tmp.resolve(LoraConfigJson.FILE_NAME)));
            baseQuantization(base).ifPresent(q -> w.metadata(BASE_QUANTIZATION_KEY, q));
            List<NDArray> converted = new ArrayList<>();
            for (Map.Entry<String, NDArray> e : adapterStateDict(adapter).entrySet()) {
                NDArray a = e.getValue();
                if (a.getDataType() != DataType.FLOAT32) {
                    a = a.toType(DataType.FLOAT32, true);
                    converted.add(a);
                }
                w.add(e.getKey(), a);
            }
            try {
                w.write(tmp.resolve(WEIGHTS_FILE));
            } finally {
                converted.forEach(NDArray::close);
            }
            for (String f : List.of(LoraConfigJson.FILE_NAME, WEIGHTS_FILE)) {
                Files.move(tmp.resolve(f), Files.createDirectories(target).resolve(f),
                        StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * Loads an adapter saved by PEFT or by {@link #save} onto {@code base}, frozen (inference mode),
     * as PEFT's {@code PeftModel.from_pretrained}.
     *
     * @param base the model it was trained on, fully initialized; changed in place
     * @param dir the adapter directory
     * @param manager owner of the adapter arrays
     * @return the model with adapter {@value #DEFAULT_ADAPTER} active
     */
    public static PeftModel load(Module base, Path dir, NDManager manager) {
        return load(base, dir, manager, false);
    }

    /**
     * @param base the model, fully initialized; changed in place
     * @param dir the adapter directory
     * @param manager owner of the adapter arrays
     * @param trainable whether the adapter trains ({@code is_trainable}); otherwise inference mode
     * @return the model with adapter {@value #DEFAULT_ADAPTER} active
     * @throws IllegalArgumentException for a missing key, a shape mismatch or an invalid config,
     *     naming the tensor or field
     * @throws UncheckedIOException when the files cannot be read
     */
    public static PeftModel load(Module base, Path dir, NDManager manager, boolean trainable) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(manager, "manager");
        PeftModel m = new PeftModel(base, manager, 0L);
        base.freeze(p -> true);
        m.loadAdapter(dir, DEFAULT_ADAPTER, trainable);
        m.setAdapter(DEFAULT_ADAPTER);
        return m;
    }

    /**
     * Loads another adapter from {@code dir} under {@code adapter} (not activated).
     *
     * @param dir the adapter directory
     * @param adapter the name to give it
     * @param trainable whether it trains when active
     */
    public void loadAdapter(Path dir, String adapter, boolean trainable) {
        Objects.requireNonNull(dir, "dir");
        LoraConfig cfg;
        try {
            cfg = LoraConfigJson.read(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve(LoraConfigJson.FILE_NAME), e);
        }
        cfg = cfg.toBuilder().optInferenceMode(!trainable).build();
        try (TensorSource src = TensorSources.open(dir.resolve(WEIGHTS_FILE))) {
            String mismatch = quantizationMismatch(src.metadata().get(BASE_QUANTIZATION_KEY), baseQuantization(base));
            if (mismatch != null) {
                LOG.warn("{}: {}", dir, mismatch);
            }
            if (!savedWith(src, dir.resolve(LoraConfigJson.FILE_NAME))) {
                LOG.warn("{} was saved with another {} than the one beside it (edited since, or a save that was"
                        + " interrupted between the two files); loading the pair as it is", dir.resolve(WEIGHTS_FILE),
                        LoraConfigJson.FILE_NAME);
            }
            loadAdapter(cfg, src, adapter);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve(WEIGHTS_FILE), e);
        }
    }

    /**
     * Adds adapter {@code adapter} with {@code cfg} and fills it from {@code src} (PEFT's saved keys),
     * checking every tensor before assigning any.
     *
     * @param cfg the adapter's configuration
     * @param src its tensors
     * @param adapter the name to give it
     */
    public void loadAdapter(LoraConfig cfg, TensorSource src, String adapter) {
        addAdapter(adapter, cfg, LoraInit.DEFAULT);
        try {
            Map<String, Parameter> params = AdapterStateDict.parameters(base, adapter, config(adapter),
                    modulesToSave.copiesOf(adapter));
            List<String> problems = new ArrayList<>();
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                String k = e.getKey();
                Shape want = e.getValue().getArray().getShape();
                if (!src.contains(k)) {
                    problems.add("missing tensor " + k);
                } else if (!new Shape(src.info(k).shape()).equals(want)) {
                    problems.add("tensor " + k + " has shape " + new Shape(src.info(k).shape())
                            + " but the model expects " + want);
                }
            }
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException("adapter weights in " + src.location() + " do not match: "
                        + String.join("; ", problems));
            }
            List<String> unexpected = src.names().stream().filter(k -> !params.containsKey(k))
                    .collect(Collectors.toList());
            if (!unexpected.isEmpty()) {
                LOG.warn("adapter weights in {}: ignoring {} unexpected tensors: {}", src.location(),
                        unexpected.size(), String.join(", ", unexpected));
            }
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray v = src.load(e.getKey(), manager);
                NDArray f = v.toType(e.getValue().getArray().getDataType(), false);
                if (f != v) {
                    v.close();
                }
                Params.assign(e.getValue(), f.toDevice(e.getValue().getArray().getDevice(), false));
            }
        } catch (IOException e) {
            deleteAdapter(adapter);
            throw new UncheckedIOException("cannot read adapter weights from " + src.location(), e);
        } catch (RuntimeException e) {
            deleteAdapter(adapter);
            throw e;
        }
        applyState();
    }

    private void checkOpen() {
        if (unloaded) {
            throw new IllegalStateException("this PeftModel was unloaded; use the returned base model");
        }
    }

    /** Runs the adapted base model. */
    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
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
