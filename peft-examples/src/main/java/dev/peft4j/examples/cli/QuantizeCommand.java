package dev.peft4j.examples.cli;

import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.quant.BlockwiseQuantizer;
import dev.peft4j.quant.QuantStateDict;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.QuantizedTensor;
import dev.peft4j.quant.nn.HfQuantizationConfig;

import com.fasterxml.jackson.databind.node.ObjectNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * {@code peft4j quantize --in IN --out OUT}: quantizes the weight matrices of a checkpoint to 4
 * bits (NF4 or FP4, bitsandbytes-exact) and writes them in the bitsandbytes/transformers layout.
 */
@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = {
            "Quantize every 2-D floating tensor whose name ends in 'weight' (except --skip"
                    + " matches) to 4 bits; copy every other tensor unchanged.",
            "IN is a .safetensors file (OUT is then a file) or a model directory (OUT is then a"
                    + " new directory with the same weight files - one model.safetensors or the"
                    + " same shards and index - and copies of config.json, tokenizer files, ...).",
            "Quantized tensors are written as bitsandbytes does: X.weight (U8), X.weight.absmax,"
                    + " X.weight.quant_map, [X.weight.nested_absmax, X.weight.nested_quant_map,]"
                    + " X.weight.quant_state.bitsandbytes__nf4. Tensors stream one at a time;"
                    + " memory is one weight file's quantized output plus one tensor in float32.",
            "For a directory, config.json gets transformers' quantization_config (quant_method"
                    + " bitsandbytes, load_in_4bit, bnb_4bit_quant_type, bnb_4bit_use_double_quant,"
                    + " llm_int8_skip_modules = the modules left in full precision), so that"
                    + " transformers loads OUT as a pre-quantized 4-bit model."
        })
final class QuantizeCommand extends CliCommand {

    /** Embedding tables, output heads and classifiers stay in full precision by default. */
    static final String DEFAULT_SKIP = "embed|(^|\\.)(lm_head|classifier|score)(\\.|$)";

    @Option(names = "--in", required = true, paramLabel = "FILE_OR_DIR",
            description = "The checkpoint to quantize.")
    Path in;

    @Option(names = "--out", required = true, paramLabel = "OUT",
            description = "Output file or directory (written atomically).")
    Path out;

    @Option(names = "--quant-type", paramLabel = "nf4|fp4", defaultValue = "nf4",
            description = "4-bit data type (default: ${DEFAULT-VALUE}).")
    String quantType;

    @Option(names = "--blocksize", defaultValue = "64",
            description = "Values per block: 32, 64, ..., 4096 (default: ${DEFAULT-VALUE}).")
    int blocksize;

    @Option(names = "--no-double-quant", description = "Keep the block scales in float32.")
    boolean noDoubleQuant;

    @Option(names = "--skip", paramLabel = "REGEX", defaultValue = DEFAULT_SKIP,
            description = "Tensor names (searched, not fully matched) to keep unchanged"
                    + " (default: ${DEFAULT-VALUE}).")
    String skip;

    @Override
    int run() throws Exception {
        QuantType type = QuantType.fromBnbName(quantType);
        Pattern skipPattern = Pattern.compile(skip);
        Map<String, BlockwiseQuantizer> quantizers = new HashMap<>();
        for (String dtype : new String[] {"float32", "float16", "bfloat16"}) {
            quantizers.put(
                    dtype,
                    BlockwiseQuantizer.builder()
                            .setQuantType(type)
                            .optBlocksize(blocksize)
                            .optDoubleQuant(!noDoubleQuant)
                            .optDtype(dtype)
                            .build());
        }
        Set<String> kept = new TreeSet<>();
        Set<String> quantized = new TreeSet<>();
        Map.Entry<Path, Integer> result =
                CheckpointRewriter.rewrite(
                        in, out,
                        (file, all, writer) -> quantizeFile(file, writer, quantizers, skipPattern, kept, quantized),
                        config -> withQuantizationConfig(config, type, kept, quantized));
        out().printf(Locale.ROOT, "quantized %d tensors to %s (blocksize %d, double quant %s): %s%n",
                result.getValue(), type.bnbName(), blocksize, !noDoubleQuant, result.getKey());
        out().flush();
        return 0;
    }

    /**
     * Adds transformers' {@code quantization_config}; its {@code llm_int8_skip_modules} lists the
     * modules whose 2-D weights stayed in full precision, and {@code lm_head} unless it was
     * quantized (transformers would otherwise quantize a tied head).
     */
    private ObjectNode withQuantizationConfig(
            ObjectNode config, QuantType type, Set<String> kept, Set<String> quantized) {
        List<String> skipModules = new ArrayList<>(kept);
        if (!quantized.contains("lm_head") && !kept.contains("lm_head")) {
            skipModules.add(0, "lm_head");
        }
        config.set(HfQuantizationConfig.KEY, HfQuantizationConfig.toJson(type, !noDoubleQuant, null, skipModules));
        return config;
    }

    private static int quantizeFile(
            SafetensorsFile file,
            SafetensorsWriter writer,
            Map<String, BlockwiseQuantizer> quantizers,
            Pattern skip,
            Set<String> kept,
            Set<String> quantized)
            throws IOException {
        int n = 0;
        for (String name : file.names()) {
            if (name.contains(QuantStateDict.QUANT_STATE)) {
                throw new IllegalArgumentException(
                        file.location() + ": tensor '" + name + "': the checkpoint is already"
                                + " quantized");
            }
            TensorInfo info = file.info(name);
            boolean matrix = info.dtype().isFloating()
                    && info.shape().length == 2
                    && (name.equals("weight") || name.endsWith(".weight"));
            String module = name.substring(0, Math.max(0, name.length() - ".weight".length()));
            boolean quantize = matrix && !skip.matcher(name).find();
            if (matrix && !quantize) {
                kept.add(module);
            }
            if (!quantize) {
                writer.add(name, info.dtype(), info.shape(), file.rawBytes(name));
                continue;
            }
            String dtype = switch (info.dtype()) {
                case F16 -> "float16";
                case BF16 -> "bfloat16";
                default -> "float32";
            };
            QuantizedTensor q;
            try {
                q = quantizers.get(dtype).quantize(file.loadFloats(name), info.shape());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        file.location() + ": tensor '" + name + "': " + e.getMessage(), e);
            }
            QuantStateDict.addTo(writer, name, q);
            quantized.add(module);
            n++;
        }
        return n;
    }
}
