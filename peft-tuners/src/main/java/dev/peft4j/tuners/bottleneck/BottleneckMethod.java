package dev.peft4j.tuners.bottleneck;

import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.model.hooks.Sublayer;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.peft.PeftMethod;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Bottleneck adapters (Houlsby, Pfeiffer, parallel) in AdapterHub's {@code adapters} 1.2 layout as
 * a {@link PeftMethod} ({@code peft_type} {@value BottleneckConfig#PEFT_TYPE} in peft4j only; the
 * files carry none and are {@linkplain #recognizes recognized} by their format).
 *
 * <p>Each adapter is a {@link BottleneckAdapter} module at AdapterHub's path, {@code
 * <site>.adapters.<adapter>} with the site {@code [bert.]encoder.layer.<i>.attention.output}
 * ({@code mh_adapter}) or {@code [bert.]encoder.layer.<i>.output} ({@code output_adapter}) for
 * BERT, {@code model.layers.<i>.attention_adapters} / {@code output_adapters} for the Llama family
 * (where an {@code AdapterSite} module is added); the active adapter is installed as the site's
 * {@link dev.peft4j.core.model.hooks.ResidualHook}. Saved keys are AdapterHub's: the model's own
 * path with the AdapterHub {@code name} ({@link BottleneckConfig#name()}), e.g. {@code
 * encoder.layer.0.output.adapters.reviews.adapter_down.0.weight}, with the base-model prefix
 * ({@code bert.}, {@code model.}) as the config's {@code model_class} has it; {@code modules_to_save} keys are
 * the model's own paths ({@code classifier.weight}). Not mergeable.
 */
public final class BottleneckMethod implements PeftMethod<BottleneckConfig> {

    /** AdapterHub's configuration file. */
    public static final String CONFIG_FILE = "adapter_config.json";

    /** AdapterHub's safetensors weights file ({@code save_adapter(..., use_safetensors=True)}). */
    public static final String WEIGHTS_FILE = "adapter.safetensors";

    /** AdapterHub's default (pickle) weights file, which peft4j refuses. */
    public static final String PICKLE_FILE = "pytorch_adapter.bin";

    private static final String ADAPTERS = "adapters";

    /** Creates the method (stateless: adapters live in the model tree). */
    public BottleneckMethod() {}

    @Override
    public String peftType() {
        return BottleneckConfig.PEFT_TYPE;
    }

    @Override
    public Class<BottleneckConfig> configType() {
        return BottleneckConfig.class;
    }

    /** @return true when {@code dir/adapter_config.json} is in AdapterHub's format (a {@code config} object, no {@code peft_type}) */
    @Override
    public boolean recognizes(Path dir) {
        Path file = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try {
            return BottleneckConfigJson.isAdapterHubConfig(new ObjectMapper().readTree(file.toFile()));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Reads AdapterHub's {@code adapter_config.json}.
     *
     * @throws IllegalArgumentException also when the directory holds only the pickle {@value
     *     #PICKLE_FILE}, saying how to convert it
     */
    @Override
    public BottleneckConfig readConfig(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.exists(dir.resolve(WEIGHTS_FILE)) && Files.exists(dir.resolve(PICKLE_FILE))) {
            throw new IllegalArgumentException(pickleMessage(dir));
        }
        return BottleneckConfigJson.read(file);
    }

    /**
     * @param dir an AdapterHub directory holding {@value #PICKLE_FILE}
     * @return why it is refused and the two Python lines that convert it
     */
    static String pickleMessage(Path dir) {
        return dir + " holds AdapterHub's pickle weights " + PICKLE_FILE + ", which peft4j does not read (unpickling"
                + " can run arbitrary code); convert it once to " + WEIGHTS_FILE + " in that directory with Python:\n"
                + "  import torch, safetensors.torch as st\n"
                + "  st.save_file({k: v.contiguous() for k, v in torch.load(\"" + PICKLE_FILE + "\", map_location=\"cpu\","
                + " weights_only=True).items()}, \"" + WEIGHTS_FILE + "\")\n"
                + "(or save it with model.save_adapter(dir, name, use_safetensors=True))";
    }

    @Override
    public void writeConfig(BottleneckConfig config, Path dir) throws IOException {
        BottleneckConfigJson.write(config, dir);
    }

    @Override
    public String weightsFileName() {
        return WEIGHTS_FILE;
    }

    /** @return {@code ""}: AdapterHub keys are the model's own paths */
    @Override
    public String modulesToSavePrefix() {
        return "";
    }

    /** @return the sites the adapter would occupy */
    @Override
    public List<String> targets(Module base, BottleneckConfig config) {
        List<String> out = new ArrayList<>();
        plan(base, config).forEach(p -> out.add(p.site().path()));
        return out;
    }

    /** Where one adapter goes and how wide it is. */
    private record Placement(ResidualSite site, int hidden, int width) {}

    /**
     * Every check before anything changes: sites exist, {@code hidden_size} matches the model,
     * every layer has a reduction factor.
     */
    private static List<Placement> plan(Module base, BottleneckConfig config) {
        List<ResidualSite> sites = PeftHooks.of(base).residualSites();
        if (sites.isEmpty()) {
            throw new IllegalArgumentException(base.getClass().getSimpleName() + " has no residual sites for"
                    + " bottleneck adapters (BERT and Llama-family models have them)");
        }
        int hidden = hiddenSize(base, sites.get(0));
        if (config.hiddenSize() != null && config.hiddenSize() != hidden) {
            throw new IllegalArgumentException("hidden_size is " + config.hiddenSize() + " in the adapter config"
                    + (config.modelName() == null ? "" : " (made for " + config.modelName() + ")")
                    + " but the model's hidden size is " + hidden);
        }
        List<Placement> out = new ArrayList<>();
        for (ResidualSite s : sites) {
            boolean wanted = s.sublayer() == Sublayer.ATTENTION ? config.mhAdapter() : config.outputAdapter();
            if (wanted && !config.leaveOut().contains(s.layer())) {
                out.add(new Placement(s, hidden, config.bottleneckSize(hidden, s.layer())));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("the adapter config selects no site of " + base.getClass().getSimpleName()
                    + " (mh_adapter=" + config.mhAdapter() + ", output_adapter=" + config.outputAdapter()
                    + ", leave_out=" + config.leaveOut() + ")");
        }
        return out;
    }

    /** The width of the first 1-D norm weight at the site's module or its parent (the layer). */
    private static int hiddenSize(Module base, ResidualSite site) {
        Map<String, Module> modules = base.namedModules();
        String path = site.path();
        for (String at : List.of(path, path.contains(".") ? path.substring(0, path.lastIndexOf('.')) : "")) {
            Module m = modules.get(at);
            if (m == null) {
                continue;
            }
            for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
                String k = e.getKey();
                if (!k.startsWith(ADAPTERS + ".") && !k.contains("_adapters.") && k.toLowerCase(Locale.ROOT).endsWith("norm.weight")
                        && e.getValue().isInitialized() && e.getValue().getArray().getShape().dimension() == 1) {
                    return (int) e.getValue().getArray().getShape().get(0);
                }
            }
        }
        throw new IllegalArgumentException("cannot find the hidden size at " + path + " (no LayerNorm/RMSNorm weight)");
    }

    /** Adds a {@link BottleneckAdapter} at each planned site, initialized per {@code init_weights}. */
    @Override
    public BottleneckConfig inject(Module base, String adapter, BottleneckConfig config, Context context) {
        List<Placement> plan = plan(base, config);
        for (Placement p : plan) {
            ModuleDict d = adapters(base, p.site().path());
            if (d != null && d.contains(adapter)) {
                throw new IllegalArgumentException(p.site().path() + " already has adapter '" + adapter + "'");
            }
        }
        long seed = config.initWeightsSeed() != null ? config.initWeightsSeed() : context.seed();
        Map<ResidualSite, BottleneckAdapter> made = new LinkedHashMap<>();
        for (Placement p : plan) {
            BottleneckAdapter a = new BottleneckAdapter(config, p.hidden(), p.width());
            BottleneckInit.initialize(a, context.manager(), new Random(seed * 1_000_003L + p.site().path().hashCode()));
            made.put(p.site(), a);
        }
        Map<String, Module> modules = base.namedModules();
        made.forEach((site, a) -> {
            String path = site.path();
            Module host = modules.get(path);
            if (host == null) {
                int dot = path.lastIndexOf('.');
                host = modules.get(dot < 0 ? "" : path.substring(0, dot)).addChild(path.substring(dot + 1), new AdapterSite());
            }
            ModuleDict dict = host.children().containsKey(ADAPTERS) ? (ModuleDict) host.child(ADAPTERS)
                    : host.addChild(ADAPTERS, new ModuleDict());
            dict.put(adapter, a);
        });
        String cls = base.getClass().getSimpleName();
        return config.toBuilder()
                .optName(config.name() != null ? config.name() : adapter)
                .optHiddenSize(plan.get(0).hidden())
                .optModelClass(config.modelClass() != null ? config.modelClass() : cls)
                .optModelType(config.modelType() != null ? config.modelType() : modelType(cls))
                .build();
    }

    private static String modelType(String cls) {
        for (String t : List.of("Bert", "Llama", "Qwen2", "Mistral")) {
            if (cls.startsWith(t)) {
                return t.toLowerCase(Locale.ROOT);
            }
        }
        return null;
    }

    @Override
    public void activate(Module base, String adapter, boolean disabled) {
        for (ResidualSite s : PeftHooks.of(base).residualSites()) {
            BottleneckAdapter a = adapter == null || disabled ? null : adapterAt(base, s.path(), adapter);
            if (a != null) {
                s.setHook(a);
            } else if (s.hook() instanceof BottleneckAdapter) {
                s.setHook(null);
            }
        }
    }

    @Override
    public void delete(Module base, String adapter) {
        for (ResidualSite s : PeftHooks.of(base).residualSites()) {
            BottleneckAdapter a = adapterAt(base, s.path(), adapter);
            if (a == null) {
                continue;
            }
            if (s.hook() == a) {
                s.setHook(null);
            }
            Module host = base.getModule(s.path());
            Map<String, Module> keep = new LinkedHashMap<>(host.child(ADAPTERS).children());
            keep.remove(adapter);
            if (keep.isEmpty()) {
                removeSite(base, s.path(), host);
            } else {
                host.replaceChild(ADAPTERS, new ModuleDict(keep));
            }
        }
    }

    private static void removeSite(Module base, String path, Module host) {
        host.removeChild(ADAPTERS);
        if (host instanceof AdapterSite) {
            int dot = path.lastIndexOf('.');
            base.getModule(dot < 0 ? "" : path.substring(0, dot)).removeChild(path.substring(dot + 1));
        }
    }

    @Override
    public List<String> adaptedPaths(Module base, String adapter) {
        List<String> out = new ArrayList<>();
        for (ResidualSite s : PeftHooks.of(base).residualSites()) {
            if (adapterAt(base, s.path(), adapter) != null) {
                out.add(s.path() + "." + ADAPTERS + "." + adapter);
            }
        }
        return out;
    }

    /** Every parameter of the adapter's modules (AdapterHub's {@code train_adapter}: not the original LayerNorms). */
    @Override
    public List<Parameter> trainableParameters(Module base, String adapter, BottleneckConfig config) {
        List<Parameter> out = new ArrayList<>();
        for (ResidualSite s : PeftHooks.of(base).residualSites()) {
            BottleneckAdapter a = adapterAt(base, s.path(), adapter);
            if (a != null) {
                out.addAll(a.namedParameters().values());
            }
        }
        return out;
    }

    /**
     * AdapterHub's keys {@code <site>.adapters.<name>.<param>}; with {@code ln_before} the input
     * LayerNorm is saved twice, as {@code adapter_down.0.*} and {@code adapter_norm_before.*}, as
     * AdapterHub's state dict holds it.
     */
    @Override
    public Map<String, Parameter> savedParameters(Module base, String adapter, BottleneckConfig config) {
        String name = config.name() != null ? config.name() : adapter;
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (ResidualSite s : PeftHooks.of(base).residualSites()) {
            BottleneckAdapter a = adapterAt(base, s.path(), adapter);
            if (a == null) {
                continue;
            }
            String prefix = filePath(s.path(), config) + "." + ADAPTERS + "." + name + ".";
            a.namedParameters().forEach((k, p) -> out.put(prefix + k, p));
            if (a.config().lnBefore()) {
                a.child("adapter_down").child("0").namedParameters()
                        .forEach((k, p) -> out.put(prefix + "adapter_norm_before." + k, p));
            }
        }
        return out;
    }

    /**
     * A site's path as AdapterHub writes it for the config's {@code model_class}: AdapterHub keys
     * carry the base-model prefix ({@code bert.}, {@code model.}) except for the bare base classes
     * ({@code BertModel}, {@code LlamaModel}, …), whatever class peft4j loads the adapter into; so
     * an adapter saved from {@code BertAdapterModel} loads onto a {@code BertModel} and is saved
     * back with its own keys.
     */
    static String filePath(String path, BottleneckConfig config) {
        String type = config.modelType();
        String cls = config.modelClass();
        String prefix = type == null || cls == null ? null : switch (type) {
            case "bert" -> "bert";
            case "llama", "qwen2", "mistral" -> "model";
            default -> null;
        };
        if (prefix == null) {
            return path;
        }
        boolean bare = cls.endsWith("Model") && !cls.endsWith("AdapterModel");
        boolean has = path.startsWith(prefix + ".");
        if (bare && has) {
            return path.substring(prefix.length() + 1);
        }
        return !bare && !has ? prefix + "." + path : path;
    }

    @Override
    public UnsupportedOperationException cannotMerge() {
        return new UnsupportedOperationException("bottleneck adapters (AdapterHub) cannot be merged into the base"
                + " weights: the adapter is a non-linear layer beside the residual; keep the PeftModel, or unload()"
                + " to get the base model back without it");
    }

    @Override
    public void unload(Module base) {
        for (ResidualSite s : PeftHooks.of(base).residualSites()) {
            if (s.hook() instanceof BottleneckAdapter) {
                s.setHook(null);
            }
            Module host = base.namedModules().get(s.path());
            if (host != null && host.children().containsKey(ADAPTERS)) {
                removeSite(base, s.path(), host);
            }
        }
    }

    private static ModuleDict adapters(Module base, String sitePath) {
        Module m = base.namedModules().get(sitePath + "." + ADAPTERS);
        return m instanceof ModuleDict d ? d : null;
    }

    private static BottleneckAdapter adapterAt(Module base, String sitePath, String adapter) {
        ModuleDict d = adapters(base, sitePath);
        return d != null && d.contains(adapter) ? (BottleneckAdapter) d.child(adapter) : null;
    }
}
