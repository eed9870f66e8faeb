package dev.peft4j.lora;

import dev.peft4j.core.adapter.AdapterLayers;
import ai.djl.nn.Parameter;
import dev.peft4j.core.adapter.AdapterInjector;
import dev.peft4j.core.adapter.TargetMatcher;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * LoRA, DoRA and rsLoRA as a {@link PeftMethod} ({@code peft_type} {@value LoraConfig#PEFT_TYPE}):
 * each target linear layer is replaced in place by a {@link LoraLinear} holding every adapter's
 * {@code lora_A}/{@code lora_B} (and DoRA magnitude); saved keys are PEFT's ({@code
 * base_model.model.<path>.lora_A.weight}, {@link AdapterStateDict}). Registered in {@code
 * META-INF/services/dev.peft4j.core.peft.PeftMethod}, so {@link dev.peft4j.core.peft.PeftModel}
 * finds it for a {@link LoraConfig} and for {@code "peft_type": "LORA"} files.
 */
public final class LoraMethod implements PeftMethod<LoraConfig> {

    private static final Logger LOG = LoggerFactory.getLogger(LoraMethod.class);

    /** Creates the method (stateless: adapters live in the {@link LoraLinear}s). */
    public LoraMethod() {}

    @Override
    public String peftType() {
        return LoraConfig.PEFT_TYPE;
    }

    @Override
    public Class<LoraConfig> configType() {
        return LoraConfig.class;
    }

    @Override
    public LoraConfig readConfig(Path file) throws IOException {
        return LoraConfigJson.read(file);
    }

    @Override
    public void writeConfig(LoraConfig config, Path dir) throws IOException {
        LoraConfigJson.write(config, dir);
    }

    @Override
    public List<String> targets(Module base, LoraConfig config) {
        return config.matcher().resolve(base).select(base);
    }

    /**
     * Replaces (or extends) each target by a {@link LoraLinear}, initialized per {@code
     * init_lora_weights} from a {@link Random} seeded by the seed and the layer's path ({@code
     * default} when loading).
     */
    @Override
    public LoraConfig inject(Module base, String adapter, LoraConfig config, Context context) {
        LoraInit init = context.loading() ? LoraInit.DEFAULT : config.initLoraWeights();
        if (config.fanInFanOut()) {
            LOG.warn("fan_in_fan_out is set but peft4j linear layers store [out, in]; ignoring it");
        }
        TargetMatcher matcher = config.matcher().resolve(base);
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
                LoraInitializer.initialize(layer, adapter, init, context.manager(),
                        new Random(context.seed() * 1_000_003L + path.hashCode()));
                return layer;
            }
        });
        return config.targetModules().isAllLinear()
                ? config.toBuilder().setTargetModules(matcher.targets()).build()
                : config;
    }

    @Override
    public void activate(Module base, String adapter, boolean disabled) {
        for (LoraLinear l : layers(base).values()) {
            l.setActive(adapter);
            l.setDisabled(disabled);
        }
    }

    @Override
    public void delete(Module base, String adapter) {
        for (Map.Entry<String, LoraLinear> e : layers(base).entrySet()) {
            LoraLinear l = e.getValue();
            if (l.adapterNames().contains(adapter)) {
                l.deleteAdapter(adapter);
                if (l.adapterNames().isEmpty()) {
                    base.setModule(e.getKey(), (Module) l.baseLayer());
                }
            }
        }
    }

    @Override
    public List<String> adaptedPaths(Module base, String adapter) {
        List<String> out = new ArrayList<>();
        layers(base).forEach((p, l) -> {
            if (l.adapterNames().contains(adapter)) {
                out.add(p);
            }
        });
        return out;
    }

    /**
     * {@code lora_A}, {@code lora_B} (and the DoRA magnitude) of {@code adapter}, and biases per
     * {@code bias}: every bias outside LoRA's own modules for {@code all}, the adapted layers'
     * for {@code lora_only}.
     */
    @Override
    public List<Parameter> trainableParameters(Module base, String adapter, LoraConfig config) {
        List<Parameter> out = new ArrayList<>();
        for (LoraLinear l : layers(base).values()) {
            if (l.adapterNames().contains(adapter)) {
                out.addAll(l.loraA(adapter).namedParameters().values());
                out.addAll(l.loraB(adapter).namedParameters().values());
                if (l.settings(adapter).useDora()) {
                    out.add(l.magnitude(adapter));
                }
                if (config.bias() == LoraBias.LORA_ONLY && l.biasParameter() != null) {
                    out.add(l.biasParameter());
                }
            }
        }
        if (config.bias() == LoraBias.ALL) {
            base.namedParameters().forEach((p, v) -> {
                if (p.endsWith("bias") && !p.contains(".lora_")) {
                    out.add(v);
                }
            });
        }
        return out;
    }

    @Override
    public Map<String, Parameter> savedParameters(Module base, String adapter, LoraConfig config) {
        return AdapterStateDict.parameters(base, adapter, config);
    }

    @Override
    public boolean supportsMerge() {
        return true;
    }

    /** Merges each layer's active adapter; with {@code safe}, a failure unmerges this call's layers. */
    @Override
    public void merge(Module base, String adapter, boolean safe) {
        AdapterLayers.merge(layers(base).values(), safe);
    }

    @Override
    public void unmerge(Module base) {
        layers(base).values().forEach(LoraLinear::unmerge);
    }

    @Override
    public boolean isMerged(Module base) {
        return AdapterLayers.anyMerged(layers(base).values());
    }

    @Override
    public void unload(Module base) {
        AdapterLayers.unload(base, layers(base));
    }

    /**
     * @param base a model
     * @return its {@link LoraLinear}s by path, in tree order
     */
    static Map<String, LoraLinear> layers(Module base) {
        return AdapterLayers.find(base, LoraLinear.class);
    }
}
