package dev.peft4j.examples.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code peft4j inspect} reports about a checkpoint: its tensors, totals, metadata, and for a
 * model directory the {@code model_type} and {@code architectures} of {@code config.json}.
 *
 * @param path the inspected path
 * @param weights the weights file (or index file) that was read
 * @param modelType {@code config.json}'s model_type, or null
 * @param architectures {@code config.json}'s architectures (empty when absent)
 * @param shards the shard files of a sharded checkpoint (empty otherwise)
 * @param tensors the tensors, in storage order
 * @param metadata the checkpoint's metadata
 */
record WeightsSummary(
        Path path,
        Path weights,
        String modelType,
        List<String> architectures,
        List<Path> shards,
        List<TensorInfo> tensors,
        Map<String, String> metadata) {

    static final String CONFIG = "config.json";

    /**
     * Reads the headers (no tensor data) of the weights at {@code path}.
     *
     * @param path a safetensors file, an index file, or a model directory
     * @param json the mapper used to read config.json
     * @return the summary
     * @throws IOException when the weights or config.json cannot be read or are malformed
     */
    static WeightsSummary read(Path path, ObjectMapper json) throws IOException {
        String modelType = null;
        List<String> architectures = new ArrayList<>();
        Path config = path.resolve(CONFIG);
        if (Files.isDirectory(path) && Files.isRegularFile(config)) {
            JsonNode root;
            try {
                root = json.readTree(config.toFile());
            } catch (JsonProcessingException e) {
                throw new IOException(config + ": not valid JSON: " + e.getOriginalMessage(), e);
            }
            modelType =
                    root.path("model_type").isTextual() ? root.get("model_type").textValue() : null;
            for (JsonNode a : root.path("architectures")) {
                architectures.add(a.asText());
            }
        }
        try (TensorSource source = TensorSources.open(path)) {
            List<TensorInfo> tensors = new ArrayList<>();
            for (String name : source.names()) {
                tensors.add(source.info(name));
            }
            List<Path> shards = source instanceof ShardedSafetensors s ? s.shardFiles() : List.of();
            return new WeightsSummary(
                    path,
                    source.location(),
                    modelType,
                    List.copyOf(architectures),
                    shards,
                    List.copyOf(tensors),
                    source.metadata());
        }
    }

    /** @return the total number of elements over all tensors */
    long parameters() {
        long n = 0;
        for (TensorInfo t : tensors) {
            n += t.numel();
        }
        return n;
    }

    /** @return the total bytes of tensor data */
    long bytes() {
        long n = 0;
        for (TensorInfo t : tensors) {
            n += t.byteSize();
        }
        return n;
    }
}
