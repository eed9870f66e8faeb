package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.nn.QuantizedLinear;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Replaces the linear layers of a module tree by 4-bit ones, like transformers' {@code
 * replace_with_bnb_linear}.
 *
 * <p>Call {@link #quantizeModules} on a freshly built (unloaded) model, then load it with {@link
 * QuantizedLoader}, which quantizes each weight as it streams in. On a model whose linear layers
 * already hold weights, the weights are quantized at once (and the dense ones closed). {@link
 * #dequantizeModules} goes back, like transformers' {@code model.dequantize()}.
 */
public final class Quantizer {

    private static final Logger LOG = LoggerFactory.getLogger(Quantizer.class);

    private Quantizer() {}

    /**
     * Replaces every {@link Linear} not matched by {@link QuantizationConfig#isSkipped} (and whose
     * weight is not shared with another module, such as a tied output layer) by a {@link
     * Linear4bit} at the same path. A bias keeps its array and trainability.
     *
     * @param root the model
     * @param config the quantization settings
     * @return the paths of the replaced modules, in pre-order
     */
    public static List<String> quantizeModules(Module root, QuantizationConfig config) {
        List<String> replaced = quantizablePaths(root, config);
        for (String path : replaced) {
            root.setModule(path, toLinear4bit((Linear) root.getModule(path), config));
        }
        LOG.info("replaced {} linear layers by 4-bit ones ({})", replaced.size(), config);
        return replaced;
    }

    /**
     * The paths {@link #quantizeModules} replaces, without changing anything: every {@link Linear}
     * not matched by {@link QuantizationConfig#isSkipped} whose weight is not shared with another
     * module. On an unloaded model (built from its config) this names the checkpoint tensors that
     * quantize-on-load quantizes ({@code <path>.weight}), which the streaming QLoRA merge needs.
     *
     * @param root the model
     * @param config the quantization settings
     * @return the paths, in pre-order
     */
    public static List<String> quantizablePaths(Module root, QuantizationConfig config) {
        Map<String, Module> modules = root.namedModules();
        Set<Parameter> shared = sharedParameters(modules);
        List<String> paths = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            String path = e.getKey();
            if (!(e.getValue() instanceof Linear linear) || path.isEmpty()) {
                continue;
            }
            if (config.isSkipped(path)) {
                LOG.debug("keeping {} in full precision (skip list)", path);
                continue;
            }
            if (shared.contains(linear.parameter("weight"))) {
                LOG.info("keeping {} in full precision: its weight is shared (tied)", path);
                continue;
            }
            paths.add(path);
        }
        return paths;
    }

    /**
     * Replaces every {@link Linear4bit} of the tree (those under adapter layers included) by a
     * full-precision {@link Linear} holding its dequantized weight and a copy of its bias; the
     * inverse of {@link #quantizeModules} up to the 4-bit rounding, and what a dense export of a
     * QLoRA model starts from.
     *
     * @param root the model
     * @param dtype FLOAT32 or FLOAT16
     * @return the paths of the replaced modules, in pre-order
     */
    public static List<String> dequantizeModules(Module root, DataType dtype) {
        return QuantizedLinear.dequantizeAll(root, dtype);
    }

    private static Linear4bit toLinear4bit(Linear linear, QuantizationConfig config) {
        Parameter bias = linear.biasParameter();
        Linear4bit q =
                new Linear4bit(linear.inFeatures(), linear.outFeatures(), bias != null, config);
        Parameter weight = linear.parameter("weight");
        if (weight.isInitialized()) {
            NDArray w = weight.getArray();
            NDManager manager = w.getManager();
            float[] values;
            try (NDArray f = w.toType(DataType.FLOAT32, true)) {
                values = f.toFloatArray();
            }
            String dtype = w.getDataType() == DataType.FLOAT16 ? "float16" : "float32";
            q.setQuantized(
                    config.quantizer(dtype).quantize(values, linear.outFeatures(), linear.inFeatures()),
                    manager);
            w.close();
        }
        if (bias != null && bias.isInitialized()) {
            Parameter nb = q.biasParameter();
            nb.freeze(!bias.requiresGradient());
            Params.assign(nb, bias.getArray());
        } else if (bias != null) {
            q.biasParameter().freeze(!bias.requiresGradient());
        }
        return q;
    }

    private static Set<Parameter> sharedParameters(Map<String, Module> modules) {
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Parameter> shared = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Module> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Module m : modules.values()) {
            if (!visited.add(m)) {
                continue;
            }
            for (Parameter p : m.directParameters().values()) {
                if (!seen.add(p)) {
                    shared.add(p);
                }
            }
        }
        return shared;
    }
}
