package dev.peft4j.examples.cli;

import dev.peft4j.core.merge.LayerSelection;
import dev.peft4j.core.merge.MergeReport;
import dev.peft4j.core.merge.OutputDtype;
import dev.peft4j.core.merge.StreamingMerge;
import dev.peft4j.core.merge.TensorMergeProviders;
import dev.peft4j.core.merge.TensorMergeRule;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedRoundTrip;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The streaming options of {@code merge}: {@code --streaming [--dtype base|f32|bf16|f16] [--layers
 * 0-1,31] [--tensors REGEX] [--max-shard-size 5GB]} (any of the last four implies {@code
 * --streaming}). The merge is {@link StreamingMerge}: the base checkpoint is read tensor by tensor
 * and written as Hugging Face shards, so a 7B model merges in the memory of one tensor.
 */
final class StreamingMergeOptions {

    @Option(names = "--streaming", description = "Merge tensor by tensor without loading the model (large or"
            + " sharded checkpoints): sharded safetensors out, each tensor in the base's dtype unless --dtype.")
    boolean streaming;

    @Option(names = "--dtype", paramLabel = "base|f32|bf16|f16", description = "With --streaming (implied): the"
            + " floating type written (default base: each tensor keeps its stored type, BF16 in, BF16 out).")
    String dtype;

    @Option(names = "--layers", paramLabel = "RANGES", description = "With --streaming (implied): write only these"
            + " decoder layers' tensors, e.g. 0-1,31 (a check of a large merge, not a loadable model).")
    String layers;

    @Option(names = "--tensors", paramLabel = "REGEX", description = "With --streaming (implied): write only the"
            + " tensors whose full name matches REGEX (with --layers: both must match).")
    String tensors;

    @Option(names = "--max-shard-size", paramLabel = "SIZE", description = "With --streaming (implied): the largest"
            + " output shard, e.g. 5GB (default), 500MB, or bytes.")
    String maxShardSize;

    /** @return whether the merge streams */
    boolean enabled() {
        return streaming || dtype != null || layers != null || tensors != null || maxShardSize != null;
    }

    /**
     * Runs the streaming merge.
     *
     * @param model the base model directory
     * @param adapter the adapter directory
     * @param out the output directory
     * @param quantize the 4-bit settings the adapter was trained over, or null
     * @param stdout where the summary goes
     * @return the exit code
     * @throws Exception when the merge fails (nothing is left at {@code out})
     */
    int run(String model, Path adapter, Path out, QuantizationConfig quantize, PrintWriter stdout) throws Exception {
        if (Builtins.isBuiltin(model)) {
            throw new IllegalArgumentException("--streaming reads a model directory, not " + model
                    + " (merge it without --streaming)");
        }
        Path base = Path.of(model);
        StreamingMerge.Builder b = StreamingMerge.builder().setBase(base)
                .optDtype(dtype == null ? OutputDtype.BASE : OutputDtype.parse(dtype));
        if (layers != null) {
            b.optLayers(LayerSelection.parse(layers));
        }
        if (tensors != null) {
            Pattern p;
            try {
                p = Pattern.compile(tensors);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("--tensors: invalid regex '" + tensors + "': " + e.getDescription(), e);
            }
            b.optTensorFilter(n -> p.matcher(n).matches(), tensors);
        }
        if (maxShardSize != null) {
            b.optShardBytes(parseSize(maxShardSize));
        }
        if (quantize != null) {
            b.optTransform(QuantizedRoundTrip.forLlama(base, quantize));
        }
        MergeReport r;
        try (TensorMergeRule rule = TensorMergeProviders.open(adapter)) {
            r = b.setRule(rule).build().write(out);
        }
        stdout.printf(Locale.ROOT, "merged %s into %s (streaming%s): %s (%d tensors, %d merged%s, %d files, %.1f MB in"
                + " %.1f s, %.1f MB/s)%n", adapter, model, quantize == null ? "" : ", dequantized " + quantize.quantType()
                + " base", out, r.tensors(), r.merged(), r.transformed() > 0 ? ", " + r.transformed() + " dequantized"
                : "", r.shards(), r.bytes() / 1e6, r.seconds(), r.megabytesPerSecond());
        stdout.flush();
        return 0;
    }

    /**
     * @param size e.g. {@code 5GB}, {@code 500MB}, {@code 64KB} (decimal units, as transformers'
     *     {@code max_shard_size}) or a number of bytes
     * @return bytes
     */
    static long parseSize(String size) {
        String s = size.strip().toUpperCase(Locale.ROOT);
        long unit = 1;
        for (String[] u : new String[][] {{"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
            if (s.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                s = s.substring(0, s.length() - u[0].length()).strip();
                break;
            }
        }
        try {
            long v = Long.parseLong(s);
            if (v <= 0) {
                throw new NumberFormatException();
            }
            return Math.multiplyExact(v, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("--max-shard-size: invalid size '" + size
                    + "' (a positive number with GB, MB, KB or no unit)");
        }
    }
}
