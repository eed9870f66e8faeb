package dev.peft4j.tuners.bitfit;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.AdapterFiles;
import dev.peft4j.core.peft.PeftMethod;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * BitFit as a {@link PeftMethod} ({@code peft_type} {@value BitFitConfig#PEFT_TYPE}, a peft4j
 * extension): the selected biases ({@link BitFitConfig}) train in place in the base, and the
 * adapter file holds them under their Hugging Face names, {@code base_model.model.<module
 * path>.bias} (the keys PEFT's LoRA uses for {@code bias="all"}).
 *
 * <p>The running adapter's biases are the base's own bias parameters, so the adapted model
 * <i>is</i> the merged model: {@link #merge} only marks them to stay when the adapter is unloaded
 * ({@code mergeAndUnload}: bit-equal outputs); the original biases are kept aside and restored
 * whenever the adapter stops running (disabled, another adapter set, deleted, or {@code unload}
 * without a merge). Other adapters wait in stand-alone parameters. Registered in {@code
 * META-INF/services/dev.peft4j.core.peft.PeftMethod}.
 */
public final class BitFitMethod implements PeftMethod<BitFitConfig> {

    private final Map<Module, BitFitState> states = Collections.synchronizedMap(new WeakHashMap<>());

    /** Creates the method; each base model's adapters are kept per model (weakly). */
    public BitFitMethod() {}

    @Override
    public String peftType() {
        return BitFitConfig.PEFT_TYPE;
    }

    @Override
    public Class<BitFitConfig> configType() {
        return BitFitConfig.class;
    }

    @Override
    public BitFitConfig readConfig(Path file) throws IOException {
        return BitFitConfigJson.read(file);
    }

    @Override
    public void writeConfig(BitFitConfig config, Path dir) throws IOException {
        BitFitConfigJson.write(config, dir);
    }

    /** The module paths whose bias trains (the method replaces no layer). */
    @Override
    public List<String> targets(Module base, BitFitConfig config) {
        return BitFitBiases.select(base, config);
    }

    @Override
    public BitFitConfig inject(Module base, String adapter, BitFitConfig config, Context context) {
        List<String> paths = BitFitBiases.select(base, config);
        BitFitState state = states.computeIfAbsent(base, b -> new BitFitState());
        if (state.has(adapter)) {
            throw new IllegalArgumentException("adapter '" + adapter + "' already exists");
        }
        state.add(base, adapter, paths, context.manager());
        return config;
    }

    @Override
    public void activate(Module base, String adapter, boolean disabled) {
        BitFitState s = states.get(base);
        if (s != null) {
            s.setLive(base, disabled ? null : adapter);
        }
    }

    @Override
    public void delete(Module base, String adapter) {
        BitFitState s = state(base);
        s.remove(base, adapter);
        if (s.adapters().isEmpty()) {
            s.unload(base);
            states.remove(base);
        }
    }

    /** The module paths whose bias the adapter holds. */
    @Override
    public List<String> adaptedPaths(Module base, String adapter) {
        BitFitState s = states.get(base);
        return s == null || !s.has(adapter) ? List.of() : s.paths(adapter);
    }

    @Override
    public List<Parameter> trainableParameters(Module base, String adapter, BitFitConfig config) {
        return new ArrayList<>(state(base).parameters(base, adapter).values());
    }

    /** {@code base_model.model.<module path>.bias} → the adapter's bias, in tree order. */
    @Override
    public Map<String, Parameter> savedParameters(Module base, String adapter, BitFitConfig config) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        state(base).parameters(base, adapter).forEach((p, v) -> out.put(AdapterFiles.TUNER_PREFIX + p + ".bias", v));
        return out;
    }

    @Override
    public boolean supportsMerge() {
        return true;
    }

    /**
     * Keeps the running adapter's biases in the base on unload (they are the base's biases
     * already).
     *
     * @throws IllegalStateException in safe mode, naming the bias, when one is not finite
     */
    @Override
    public void merge(Module base, String adapter, boolean safe) {
        BitFitState s = state(base);
        if (safe && s.live() != null) {
            for (Map.Entry<String, Parameter> e : s.parameters(base, s.live()).entrySet()) {
                NDArray a = e.getValue().getArray();
                if (a.isNaN().any().getBoolean() || a.isInfinite().any().getBoolean()) {
                    throw new IllegalStateException("BitFit adapter '" + s.live() + "' has NaN or Inf in "
                            + e.getKey() + ".bias; nothing merged");
                }
            }
        }
        s.setMerged(true);
    }

    @Override
    public void unmerge(Module base) {
        BitFitState s = states.get(base);
        if (s != null) {
            s.setMerged(false);
        }
    }

    @Override
    public boolean isMerged(Module base) {
        BitFitState s = states.get(base);
        return s != null && s.merged();
    }

    @Override
    public void unload(Module base) {
        BitFitState s = states.remove(base);
        if (s != null) {
            s.unload(base);
        }
    }

    private BitFitState state(Module base) {
        BitFitState s = states.get(base);
        if (s == null) {
            throw new IllegalStateException(base.getClass().getSimpleName() + " has no BitFit adapter");
        }
        return s;
    }
}
