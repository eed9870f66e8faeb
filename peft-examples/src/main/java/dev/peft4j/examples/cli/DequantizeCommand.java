package dev.peft4j.examples.cli;

import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.SafetensorsWriter;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.quant.BlockwiseDequantizer;
import dev.peft4j.quant.QuantStateDict;
import dev.peft4j.quant.QuantizedTensor;
import dev.peft4j.quant.nn.HfQuantizationConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code peft4j dequantize --in IN --out OUT}: the inverse of {@code quantize}: every bitsandbytes
 * 4-bit tensor becomes a float32 tensor of its original shape; everything else is copied.
 */
@Command(
        name = "dequantize",
        mixinStandardHelpOptions = true,
        description = {
            "Dequantize every bitsandbytes 4-bit tensor (X.weight with"
                    + " X.weight.quant_state.bitsandbytes__nf4/fp4) to float32 of its original"
                    + " shape; copy every other tensor unchanged.",
            "IN and OUT as for quantize: a .safetensors file and a file, or a model directory and"
                    + " a new directory with the same weight files and copies of the other files;"
                    + " the quantization_config of config.json is removed."
        })
final class DequantizeCommand extends CliCommand {

    private static final List<String> AUX =
            List.of(
                    QuantStateDict.ABSMAX,
                    QuantStateDict.QUANT_MAP,
                    QuantStateDict.NESTED_ABSMAX,
                    QuantStateDict.NESTED_QUANT_MAP);

    @Option(names = "--in", required = true, paramLabel = "FILE_OR_DIR",
            description = "The 4-bit checkpoint.")
    Path in;

    @Option(names = "--out", required = true, paramLabel = "DENSE",
            description = "Output file or directory (written atomically).")
    Path out;

    @Override
    int run() throws Exception {
        Map.Entry<Path, Integer> result = CheckpointRewriter.rewrite(in, out, DequantizeCommand::dequantizeFile,
                config -> {
                    config.remove(HfQuantizationConfig.KEY);
                    return config;
                });
        if (result.getValue() == 0) {
            out().printf("warning: %s holds no bitsandbytes 4-bit tensors; copied unchanged%n", in);
        }
        out().printf(Locale.ROOT, "dequantized %d tensors to float32: %s%n", result.getValue(), result.getKey());
        out().flush();
        return 0;
    }

    private static int dequantizeFile(SafetensorsFile file, TensorSource all, SafetensorsWriter writer)
            throws IOException {
        Set<String> bases = new HashSet<>();
        Set<String> auxiliary = new HashSet<>();
        for (String name : all.names()) {
            int at = name.indexOf(QuantStateDict.QUANT_STATE);
            if (at > 0) {
                String base = name.substring(0, at);
                bases.add(base);
                auxiliary.add(name);
                AUX.forEach(s -> auxiliary.add(base + s));
            }
        }
        int n = 0;
        for (String name : file.names()) {
            if (auxiliary.contains(name)) {
                continue;
            }
            if (!bases.contains(name)) {
                writer.add(name, file.info(name).dtype(), file.info(name).shape(), file.rawBytes(name));
                continue;
            }
            QuantizedTensor q;
            try {
                q = QuantStateDict.read(name, all);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        file.location() + ": tensor '" + name + "': " + e.getMessage(), e);
            }
            float[] values = BlockwiseDequantizer.dequantize(q);
            ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            writer.add(name, DType.F32, q.state().shape(), bytes);
            n++;
        }
        return n;
    }
}
