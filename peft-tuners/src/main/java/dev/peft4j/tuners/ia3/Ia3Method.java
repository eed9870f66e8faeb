package dev.peft4j.tuners.ia3;

import dev.peft4j.core.adapter.AdapterLayers;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import dev.peft4j.core.adapter.AdapterInjector;
import dev.peft4j.core.adapter.TargetMatcher;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.AdapterFiles;
import dev.peft4j.core.peft.PeftMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * IA³ as a {@link PeftMethod} ({@code peft_type} {@value Ia3Config#PEFT_TYPE}): each target linear
 * layer is replaced in place by an {@link Ia3Linear} holding every adapter's vector; saved keys are
 * PEFT's {@code base_model.model.<path>.ia3_l}. Null {@code target_modules}/{@code
 * feedforward_modules} take the family's defaults ({@link Ia3Defaults}). Registered in {@code
 * META-INF/services/dev.peft4j.core.peft.PeftMethod}.
 */
public final class Ia3Method implements PeftMethod<Ia3Config> {

    private static final Logger LOG = LoggerFactory.getLogger(Ia3Method.class);

    /** PEFT's saved-key suffix of a vector. */
    public static final String KEY_SUFFIX = ".ia3_l";

    /** Creates the method (stateless: adapters live in the {@link Ia3Linear}s). */
    public Ia3Method() {}

    @Override
    public String peftType() {
        return Ia3Config.PEFT_TYPE;
    }

    @Override
    public Class<Ia3Config> configType() {
        return Ia3Config.class;
    }

    @Override
    public Ia3Config readConfig(Path file) throws IOException {
        return Ia3ConfigJson.read(file);
    }

    @Override
    public void writeConfig(Ia3Config config, Path dir) throws IOException {
        Ia3ConfigJson.write(config, dir);
    }

    @Override
    public List<String> targets(Module base, Ia3Config config) {
        Ia3Config resolved = Ia3Defaults.resolve(base, config);
        return resolved.matcher().resolve(base).select(base);
    }

    /**
     * Replaces (or extends) each target by an {@link Ia3Linear} whose vector is ones ({@code
     * init_ia3_weights}, and always when loading) or N(0, 1) from a {@link Random} seeded by the
     * seed and the layer's path.
     */
    @Override
    public Ia3Config inject(Module base, String adapter, Ia3Config config, Context context) {
        Ia3Config resolved = Ia3Defaults.resolve(base, config);
        if (resolved.fanInFanOut()) {
            LOG.warn("fan_in_fan_out is set but peft4j linear layers store [out, in]; ignoring it");
        }
        TargetMatcher matcher = resolved.matcher().resolve(base);
        FeedforwardModules ff = resolved.feedforwardModules();
        AdapterInjector.inject(base, matcher, new AdapterInjector.Factory() {
            @Override
            public void check(String path, LinearLike target) {
                if (target instanceof Ia3Linear l && l.adapterNames().contains(adapter)) {
                    throw new IllegalArgumentException(path + " already has adapter '" + adapter + "'");
                }
                if (!(target instanceof Module)) {
                    throw new IllegalArgumentException(path + " is not a Module");
                }
            }

            @Override
            public Module create(String path, LinearLike target) {
                Ia3Linear layer = target instanceof Ia3Linear l ? l : new Ia3Linear(path, target);
                boolean isFf = ff.matches(path);
                ai.djl.ndarray.types.Shape shape = layer.vectorShape(isFf);
                NDArray init;
                if (resolved.initIa3Weights() || context.loading()) {
                    init = context.manager().ones(shape, DataType.FLOAT32);
                } else {
                    Random r = new Random(context.seed() * 1_000_003L + path.hashCode());
                    float[] v = new float[(int) shape.size()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) r.nextGaussian();
                    }
                    init = context.manager().create(v, shape);
                }
                layer.addAdapter(adapter, isFf, init);
                return layer;
            }
        });
        return resolved.targetModules().isAllLinear()
                ? resolved.toBuilder().setTargetModules(matcher.targets()).build()
                : resolved;
    }

    @Override
    public void activate(Module base, String adapter, boolean disabled) {
        for (Ia3Linear l : layers(base).values()) {
            l.setActive(adapter);
            l.setDisabled(disabled);
        }
    }

    @Override
    public void delete(Module base, String adapter) {
        for (Map.Entry<String, Ia3Linear> e : layers(base).entrySet()) {
            Ia3Linear l = e.getValue();
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

    /** The adapter's {@code ia3_l} vectors. */
    @Override
    public List<Parameter> trainableParameters(Module base, String adapter, Ia3Config config) {
        return new ArrayList<>(savedParameters(base, adapter, config).values());
    }

    /** {@code base_model.model.<path>.ia3_l} → vector, in tree order. */
    @Override
    public Map<String, Parameter> savedParameters(Module base, String adapter, Ia3Config config) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        layers(base).forEach((p, l) -> {
            if (l.adapterNames().contains(adapter)) {
                out.put(AdapterFiles.TUNER_PREFIX + p + KEY_SUFFIX, l.vector(adapter));
            }
        });
        return out;
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
        layers(base).values().forEach(Ia3Linear::unmerge);
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
     * @return its {@link Ia3Linear}s by path, in tree order
     */
    static Map<String, Ia3Linear> layers(Module base) {
        return AdapterLayers.find(base, Ia3Linear.class);
    }
}
