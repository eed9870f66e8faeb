package dev.peft4j.core.merge;

import java.nio.file.Path;

/**
 * What a {@link StreamingMerge} wrote.
 *
 * @param target the output directory
 * @param tensors tensors written
 * @param merged tensors the adapter changed
 * @param transformed tensors a {@link BaseWeightTransform} changed (QLoRA: dequantized)
 * @param bytes tensor data written (the index's {@code total_size})
 * @param shards safetensors files written
 * @param seconds wall time of the export
 */
public record MergeReport(Path target, int tensors, int merged, int transformed, long bytes, int shards,
        double seconds) {

    /** @return tensor data written per second, in MB (10<sup>6</sup> bytes) */
    public double megabytesPerSecond() {
        return seconds > 0 ? bytes / 1e6 / seconds : 0;
    }
}
