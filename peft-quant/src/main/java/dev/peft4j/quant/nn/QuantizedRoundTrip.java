package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.merge.BaseWeightTransform;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.quant.QuantizedTensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * QLoRA's base for the streaming merge: each weight that quantize-on-load would quantize is
 * quantized and dequantized exactly as loading and {@code mergeAndUnloadDense} do it — the floats
 * read as {@link QuantizedLoader} reads them ({@code loadFloats}, BF16 widened in Java), quantized
 * by {@link QuantizationConfig#quantizer} (same blocks, same double quantization), dequantized to
 * float32 by {@link Linear4bit#denseWeight} — so the streamed merge equals the in-memory merge over
 * the dequantized 4-bit base. The weights are those {@link Quantizer#quantizablePaths} names on the
 * model's unloaded module tree (linear layers, skip list and tied heads excepted).
 *
 * <pre>{@code
 * QuantizedRoundTrip nf4 = QuantizedRoundTrip.of(new LlamaForCausalLM(LlamaConfig.read(dir)), config);
 * StreamingMerge.builder().setBase(dir).setRule(rule).optTransform(nf4).build().write(out);
 * }</pre>
 */
public final class QuantizedRoundTrip implements BaseWeightTransform {

    private final QuantizationConfig config;
    private final Set<String> weights;

    private QuantizedRoundTrip(QuantizationConfig config, Set<String> weights) {
        this.config = config;
        this.weights = weights;
    }

    /**
     * @param skeleton the model's module tree, unloaded (built from its config; no arrays needed)
     * @param config the quantization the adapter was trained over
     * @return the transform of the tensors {@code <path>.weight} of {@link Quantizer#quantizablePaths}
     */
    public static QuantizedRoundTrip of(Module skeleton, QuantizationConfig config) {
        Objects.requireNonNull(config, "config");
        Set<String> names = new LinkedHashSet<>();
        for (String path : Quantizer.quantizablePaths(skeleton, config)) {
            names.add(path + ".weight");
        }
        return new QuantizedRoundTrip(config, names);
    }

    /**
     * The round trip for a Llama-family model directory (llama, qwen2, mistral): the module tree is
     * built from its {@code config.json}, without weights.
     *
     * @param modelDir the base model directory
     * @param config the quantization the adapter was trained over
     * @return the transform
     * @throws dev.peft4j.core.model.ConfigException when the config is missing, invalid or of
     *     another family
     */
    public static QuantizedRoundTrip forLlama(Path modelDir, QuantizationConfig config) {
        HfConfig hf = HfConfig.read(modelDir);
        if (!LlamaConfig.TYPES.contains(hf.modelType())) {
            throw new ConfigException(hf.source() + ": model_type '" + hf.modelType() + "': the streaming QLoRA"
                    + " merge reads the Llama family (" + String.join(", ", LlamaConfig.TYPES) + ")");
        }
        try (LlamaForCausalLM skeleton = new LlamaForCausalLM(LlamaConfig.from(hf))) {
            return of(skeleton, config);
        }
    }

    /** @return the tensor names transformed */
    public Set<String> weights() {
        return java.util.Collections.unmodifiableSet(weights);
    }

    @Override
    public boolean transforms(String name) {
        return weights.contains(name);
    }

    @Override
    public NDArray apply(String name, TensorSource base, NDManager manager) throws IOException {
        TensorInfo info = base.info(name);
        long[] shape = info.shape();
        if (shape.length != 2) {
            throw new IllegalArgumentException(base.location() + ": tensor '" + name + "' has shape "
                    + java.util.Arrays.toString(shape) + ", not the [out, in] of a linear weight");
        }
        QuantizedTensor q;
        try {
            q = config.quantizer(torchDtype(info)).quantize(base.loadFloats(name), shape);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(base.location() + ": tensor '" + name + "': " + e.getMessage(), e);
        }
        Linear4bit layer = new Linear4bit(shape[1], shape[0], false, config);
        try (NDManager sub = manager.newSubManager()) {
            layer.setQuantized(q, sub);
            return layer.denseWeight(manager);
        }
    }

    @Override
    public String describe() {
        return config.quantType().bnbName() + ", blocksize " + config.blocksize()
                + (config.isDoubleQuant() ? ", double quant" : "");
    }

    private static String torchDtype(TensorInfo info) {
        return switch (info.dtype()) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        };
    }
}
