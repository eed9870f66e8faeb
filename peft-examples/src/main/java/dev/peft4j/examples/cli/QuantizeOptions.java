package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.nn.NativeAllocator;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.WeightLoader;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.Linear4bit;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLoader;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The QLoRA options of {@code train}, {@code eval}, {@code demo} and {@code merge}: {@code
 * --quantize nf4|fp4 [--blocksize 64] [--no-double-quant]}. The base's linear layers (heads and
 * embeddings excepted) become 4-bit before LoRA is injected; an adapter trained so is evaluated and
 * merged over the same quantization. Models are quantized while they stream in; a directory saved
 * quantized loads in 4 bits as saved, without the options.
 */
final class QuantizeOptions {

    @Option(names = "--quantize", paramLabel = "nf4|fp4", converter = Quantization.Converter.class,
            description = "QLoRA: quantize the base's linear layers to 4 bits before injecting LoRA.")
    QuantType type;

    @Option(names = "--blocksize", paramLabel = "N",
            description = "With --quantize: values per 4-bit block, 32, 64, ..., 4096 (default 64).")
    Integer blocksize;

    @Option(names = "--no-double-quant", description = "With --quantize: keep the block scales in float32.")
    boolean noDoubleQuant;

    /** @return whether {@code --quantize} was given */
    boolean enabled() {
        return type != null;
    }

    /**
     * @return the quantization settings, or null without {@code --quantize}
     * @throws IllegalArgumentException for {@code --blocksize}/{@code --no-double-quant} without
     *     {@code --quantize}, or an invalid block size
     */
    QuantizationConfig config() {
        if (type == null) {
            if (blocksize != null || noDoubleQuant) {
                throw new IllegalArgumentException((blocksize != null ? "--blocksize" : "--no-double-quant")
                        + " needs --quantize nf4|fp4");
            }
            return null;
        }
        try {
            return QuantizationConfig.builder().setQuantType(type).optBlocksize(blocksize == null ? 64 : blocksize)
                    .optDoubleQuant(!noDoubleQuant).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--blocksize " + blocksize + ": " + e.getMessage(), e);
        }
    }

    /**
     * @param hf the model's {@code config.json}
     * @return how its weights land: as saved when it was saved quantized ({@code
     *     quantization_config}), quantized while loading with {@code --quantize}, else in full
     *     precision
     * @throws dev.peft4j.core.model.ConfigException for {@code --quantize} over a model saved
     *     quantized
     */
    WeightLoader weightLoader(HfConfig hf) {
        WeightLoader loader = QuantizedLoader.forCheckpoint(hf, config());
        if (loader != WeightLoader.FULL_PRECISION) {
            // 4-bit layers free a dequantized weight per call: keep glibc from hoarding them
            NativeAllocator.limitRetention();
        }
        return loader;
    }

    /**
     * Loads a Llama-family directory: in 4 bits while streaming with {@code --quantize}, in 4 bits
     * as saved when the directory was saved quantized ({@code quantization_config}), else in
     * float32.
     *
     * @param dir the model directory
     * @param manager owner of the weights
     * @return the model
     * @throws IOException when the weights cannot be read
     */
    LlamaForCausalLM loadLlama(Path dir, NDManager manager) throws IOException {
        HfConfig hf = HfConfig.read(dir);
        WeightLoader loader = weightLoader(hf);
        LlamaForCausalLM lm;
        try (TensorSource source = TensorSources.open(dir)) {
            lm = LlamaForCausalLM.load(LlamaConfig.from(hf), source, manager, DataType.FLOAT32, loader);
        }
        if (loader != WeightLoader.FULL_PRECISION) {
            // quantizing converts each weight to a float[] in the Java heap (one 7B MLP weight: 172 MiB);
            // a full collection lets G1 give the grown heap back to the OS before training
            System.gc();
        }
        return lm;
    }

    /**
     * @param model a loaded model
     * @return how many of its layers are 4-bit
     */
    static long fourBitLayers(Module model) {
        return model.namedModules().values().stream().filter(m -> m instanceof Linear4bit).count();
    }

    /** @return e.g. {@code NF4 (blocksize 64, double quant)}, for messages */
    String describe() {
        QuantizationConfig c = config();
        return c.quantType() + " (blocksize " + c.blocksize() + (c.isDoubleQuant() ? ", double quant)" : ")");
    }

    /** @return the options that reproduce this quantization on another command line, e.g. {@code " --quantize nf4"} */
    String commandLine() {
        if (type == null) {
            return "";
        }
        return " --quantize " + type.bnbName() + (blocksize != null && blocksize != 64 ? " --blocksize " + blocksize : "")
                + (noDoubleQuant ? " --no-double-quant" : "");
    }

    @Override
    public String toString() {
        return type == null ? "none" : type.bnbName().toLowerCase(Locale.ROOT);
    }
}
