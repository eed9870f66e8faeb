package dev.peft4j.core.peft;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.adapter.AdapterInjector;
import dev.peft4j.core.adapter.TargetMatcher;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A test-only PEFT method proving the SPI is method-agnostic: "scale the output of each target
 * linear layer by a learned vector" (IA³-like, initialized to ones), not mergeable. Saved key
 * {@code base_model.model.<path>.scale_vector}.
 */
final class ScaleMethod implements PeftMethod<ScaleConfig> {

    static final String TYPE = "SCALE";
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String peftType() {
        return TYPE;
    }

    /** Recognizes a "foreign" file: no {@code peft_type}, {@code "format": "toy-foreign"}. */
    @Override
    public boolean recognizes(Path dir) {
        try {
            JsonNode n = JSON.readTree(dir.resolve(configFileName()).toFile());
            return "toy-foreign".equals(n.path("format").asText());
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public Class<ScaleConfig> configType() {
        return ScaleConfig.class;
    }

    @Override
    public ScaleConfig readConfig(Path file) throws IOException {
        JsonNode n = JSON.readTree(file.toFile());
        List<String> targets = new ArrayList<>();
        n.get("target_modules").forEach(t -> targets.add(t.asText()));
        List<String> save = null;
        if (n.hasNonNull("modules_to_save")) {
            save = new ArrayList<>();
            for (JsonNode t : n.get("modules_to_save")) {
                save.add(t.asText());
            }
        }
        return new ScaleConfig(targets, save, n.hasNonNull("task_type") ? n.get("task_type").asText() : null,
                n.get("inference_mode").asBoolean());
    }

    @Override
    public void writeConfig(ScaleConfig c, Path dir) throws IOException {
        Map<String, Object> m = new TreeMap<>();
        m.put("peft_type", TYPE);
        m.put("target_modules", c.targetModules());
        m.put("modules_to_save", c.modulesToSave());
        m.put("task_type", c.taskType());
        m.put("inference_mode", c.inferenceMode());
        Files.writeString(dir.resolve(configFileName()), JSON.writeValueAsString(m));
    }

    private static TargetMatcher matcher(ScaleConfig c) {
        return TargetMatcher.builder().setTargetModules(TargetModules.of(c.targetModules())).build();
    }

    @Override
    public List<String> targets(Module base, ScaleConfig config) {
        return matcher(config).select(base);
    }

    @Override
    public ScaleConfig inject(Module base, String adapter, ScaleConfig config, Context context) {
        AdapterInjector.inject(base, matcher(config), new AdapterInjector.Factory() {
            @Override
            public void check(String path, LinearLike target) {
                // every linear layer can be scaled
            }

            @Override
            public Module create(String path, LinearLike target) {
                ScaleLinear layer = target instanceof ScaleLinear s ? s : new ScaleLinear(target);
                ScaleLinear.Vector v = new ScaleLinear.Vector(target.outFeatures());
                Params.assign(v.parameter("weight"), context.manager().ones(new Shape(target.outFeatures())));
                layer.vectors().put(adapter, v);
                return layer;
            }
        });
        return config;
    }

    static Map<String, ScaleLinear> layers(Module base) {
        Map<String, ScaleLinear> out = new LinkedHashMap<>();
        base.namedModules().forEach((p, m) -> {
            if (m instanceof ScaleLinear s) {
                out.put(p, s);
            }
        });
        return out;
    }

    @Override
    public void activate(Module base, String adapter, boolean disabled) {
        for (ScaleLinear s : layers(base).values()) {
            s.active = adapter;
            s.disabled = disabled;
        }
    }

    @Override
    public void delete(Module base, String adapter) {
        layers(base).forEach((p, s) -> {
            if (s.vectors().children().containsKey(adapter)) {
                Map<String, Module> keep = new LinkedHashMap<>(s.vectors().children());
                keep.remove(adapter);
                s.replaceChild("scale_vector", new dev.peft4j.core.nn.ModuleDict(keep));
                if (keep.isEmpty()) {
                    base.setModule(p, (Module) s.baseLayer());
                }
            }
        });
    }

    @Override
    public List<String> adaptedPaths(Module base, String adapter) {
        List<String> out = new ArrayList<>();
        layers(base).forEach((p, s) -> {
            if (s.vectors().children().containsKey(adapter)) {
                out.add(p);
            }
        });
        return out;
    }

    @Override
    public List<Parameter> trainableParameters(Module base, String adapter, ScaleConfig config) {
        List<Parameter> out = new ArrayList<>();
        for (String p : adaptedPaths(base, adapter)) {
            out.add(layers(base).get(p).vector(adapter));
        }
        return out;
    }

    @Override
    public Map<String, Parameter> savedParameters(Module base, String adapter, ScaleConfig config) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (String p : adaptedPaths(base, adapter)) {
            out.put(AdapterFiles.TUNER_PREFIX + p + ".scale_vector", layers(base).get(p).vector(adapter));
        }
        return out;
    }

    @Override
    public void unload(Module base) {
        layers(base).forEach((p, s) -> base.setModule(p, (Module) s.baseLayer()));
    }
}
