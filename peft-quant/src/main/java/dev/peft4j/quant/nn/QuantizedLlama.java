package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.WeightLoader;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Loads a Llama-family model (Llama, Qwen2, Mistral) with its linear layers in 4 bits, as
 * transformers' {@code from_pretrained(..., quantization_config=BitsAndBytesConfig(load_in_4bit=True))}:
 * the full-precision checkpoint is quantized while it streams in ({@link QuantizedLoader}: about
 * one layer in float32 at a time, never the whole model), and a directory saved in the
 * bitsandbytes layout ({@code config.json} holds {@value HfQuantizationConfig#KEY}) loads as it was
 * saved, without re-quantizing.
 */
public final class QuantizedLlama {

    private QuantizedLlama() {}

    /**
     * @param dir a model directory
     * @return whether its {@code config.json} says the weights are saved quantized
     * @throws ConfigException when {@code config.json} is missing or malformed
     */
    public static boolean isPrequantized(Path dir) {
        return HfQuantizationConfig.isPresent(HfConfig.read(dir).json());
    }

    /**
     * Loads {@code dir} in 4 bits.
     *
     * @param dir a Llama-family model directory, full precision or saved quantized
     * @param config how to quantize a full-precision checkpoint; must be {@code null} for a saved
     *     quantized one (its own settings apply)
     * @param manager owner of the arrays; its device is where they live
     * @return the model, its linear layers (but {@code lm_head}) {@link Linear4bit}
     * @throws IOException when the weights cannot be read
     * @throws ConfigException when the configuration is unsupported, a full-precision checkpoint
     *     comes without {@code config}, or a quantized one with it
     * @throws dev.peft4j.core.nn.StateDictException listing every tensor that does not match
     */
    public static LlamaForCausalLM load(Path dir, QuantizationConfig config, NDManager manager) throws IOException {
        HfConfig hf = HfConfig.read(dir);
        if (config == null && !HfQuantizationConfig.isPresent(hf.json())) {
            throw new ConfigException(hf.source() + ": the model is not quantized and no quantization config was"
                    + " given");
        }
        WeightLoader weights = QuantizedLoader.forCheckpoint(hf, config);
        try (TensorSource source = TensorSources.open(dir)) {
            return LlamaForCausalLM.load(LlamaConfig.from(hf), source, manager, DataType.FLOAT32,
                    weights);
        }
    }
}
