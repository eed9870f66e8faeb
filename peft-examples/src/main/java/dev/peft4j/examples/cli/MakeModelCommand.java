package dev.peft4j.examples.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.model.random.ModelShape;
import dev.peft4j.core.model.random.RandomCheckpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code peft4j make-model --shape NAME --out DIR}: writes a random-weight checkpoint of a real
 * model shape ({@link RandomCheckpoint}), for measuring fine-tuning runs where no weights can be
 * downloaded.
 */
@Command(
        name = "make-model",
        mixinStandardHelpOptions = true,
        description = {
            "Write a random-weight Hugging Face checkpoint of a named real shape (llama-2-7b, tinyllama-1.1b,"
                    + " qwen2.5-0.5b) or a custom one (--shape custom with the sizes): config.json as the Hub has"
                    + " it, BF16 safetensors sharded at --shard-size with model.safetensors.index.json,"
                    + " Hugging Face's initialization (normal(0, 0.02), norms 1, biases 0), deterministic from"
                    + " --seed. Streams: memory stays at a few MiB whatever the shape.",
            "Prints a JSON summary: shape, parameters, total_size, shards."
        })
final class MakeModelCommand extends CliCommand {

    @Option(names = "--shape", required = true, paramLabel = "NAME",
            description = "llama-2-7b, tinyllama-1.1b, qwen2.5-0.5b or custom.")
    String shape;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (absent or empty).")
    Path out;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--shard-size", defaultValue = "" + RandomCheckpoint.DEFAULT_SHARD_BYTES, paramLabel = "BYTES",
            description = "Largest shard in bytes (default ${DEFAULT-VALUE}, transformers' 5GB).")
    long shardSize;

    @Option(names = "--model-type", defaultValue = "llama", paramLabel = "llama|qwen2",
            description = "custom: the family (qwen2: q/k/v biases, tied embeddings).")
    String modelType;

    @Option(names = "--hidden", paramLabel = "N", description = "custom: hidden size.")
    int hidden;

    @Option(names = "--layers", paramLabel = "N", description = "custom: decoder layers.")
    int layers;

    @Option(names = "--heads", paramLabel = "N", description = "custom: attention heads.")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "N", description = "custom: key/value heads (default: --heads).")
    Integer kvHeads;

    @Option(names = "--intermediate", paramLabel = "N", description = "custom: MLP width.")
    int intermediate;

    @Option(names = "--vocab", paramLabel = "N", description = "custom: vocabulary size.")
    int vocab;

    @Option(names = "--tied", paramLabel = "true|false",
            description = "custom: tie lm_head to the embedding (default: true for qwen2, false for llama).")
    Boolean tied;

    @Override
    int run() throws Exception {
        ModelShape s = "custom".equals(shape) ? custom() : ModelShape.named(shape);
        RandomCheckpoint checkpoint = RandomCheckpoint.builder().setShape(s).optSeed(seed).optShardBytes(shardSize)
                .build();
        long t0 = System.nanoTime();
        long total = checkpoint.write(out);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("shape", s.name());
        summary.put("parameters", s.parameterCount());
        summary.put("total_size", total);
        summary.put("shards", checkpoint.shards().size());
        summary.put("seconds", Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
        summary.put("out", out.toString());
        PrintWriter w = out();
        w.println(new ObjectMapper().writeValueAsString(summary));
        w.flush();
        return 0;
    }

    private ModelShape custom() {
        ModelShape.Builder b = ModelShape.builder().setModelType(modelType).setHiddenSize(hidden).setNumLayers(layers)
                .setNumHeads(heads).setNumKeyValueHeads(kvHeads == null ? heads : kvHeads)
                .setIntermediateSize(intermediate).setVocabSize(vocab);
        if (tied != null) {
            b.optTieWordEmbeddings(tied);
        }
        return b.build();
    }
}
