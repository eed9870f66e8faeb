package dev.peft4j.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.util.Objects;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sharded Hugging Face checkpoint: {@code model.safetensors.index.json} ({@code weight_map}:
 * tensor name → shard file, optional {@code metadata}) and the shard files beside it.
 *
 * <p>{@link #open(Path)} checks that every referenced shard exists (inside the index's directory),
 * opens each shard (reading and validating its header only; data is mapped when loaded), and
 * checks that each shard holds every tensor the index assigns to it. Problems raise a {@link
 * SafetensorsException} naming the index file, the shard and the tensor. Tensors a shard holds but
 * the index does not list are ignored.
 *
 * <p>{@link #names()} follows the order of {@code weight_map}; {@link #metadata()} is the index's
 * {@code metadata} with non-string values (such as {@code total_size}) as JSON text.
 */
public final class ShardedSafetensors implements TensorSource {

    /** The index file name Hugging Face uses. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final long MAX_INDEX_BYTES = 100_000_000L;

    private static final ObjectMapper JSON =
            JsonMapper.builder()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .build();

    private final Path index;
    private final Map<String, SafetensorsFile> byName;
    private final List<SafetensorsFile> shards;
    private final List<String> names;
    private final Map<String, String> metadata;

    private ShardedSafetensors(
            Path index,
            Map<String, SafetensorsFile> byName,
            List<SafetensorsFile> shards,
            Map<String, String> metadata) {
        this.index = index;
        this.byName = Collections.unmodifiableMap(byName);
        this.shards = Collections.unmodifiableList(shards);
        this.names = List.copyOf(byName.keySet());
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens a sharded checkpoint.
     *
     * @param indexFile the {@code *.safetensors.index.json} file
     * @return the open checkpoint; close it when done
     * @throws SafetensorsException when the index or a shard is malformed, a shard is missing, or
     *     a shard lacks a tensor the index assigns to it
     * @throws IOException when a file cannot be read
     */
    public static ShardedSafetensors open(Path indexFile) throws IOException {
        Objects.requireNonNull(indexFile, "indexFile");
        JsonNode root = readIndex(indexFile);
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsException(indexFile, "index has no 'weight_map' object");
        }
        Map<String, Path> shardOf = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            shardOf.put(e.getKey(), resolveShard(indexFile, e.getKey(), e.getValue()));
        }
        Map<String, String> metadata = metadata(indexFile, root.get("metadata"));
        Map<Path, SafetensorsFile> opened = new LinkedHashMap<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Map.Entry<String, Path> e : shardOf.entrySet()) {
                SafetensorsFile shard = opened.get(e.getValue());
                if (shard == null) {
                    shard = SafetensorsFile.open(e.getValue());
                    opened.put(e.getValue(), shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new SafetensorsException(
                            indexFile,
                            e.getKey(),
                            "the index assigns it to shard '"
                                    + e.getValue().getFileName()
                                    + "', which does not hold it",
                            null);
                }
                byName.put(e.getKey(), shard);
            }
            return new ShardedSafetensors(
                    indexFile, byName, new ArrayList<>(opened.values()), metadata);
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile shard : opened.values()) {
                try {
                    shard.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private static JsonNode readIndex(Path indexFile) throws IOException {
        long size = Files.size(indexFile);
        if (size > MAX_INDEX_BYTES) {
            throw new SafetensorsException(
                    indexFile,
                    "index is " + size + " bytes, more than the limit of " + MAX_INDEX_BYTES);
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(indexFile));
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(
                    indexFile, null, "index is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(indexFile, "index is not a JSON object");
        }
        return root;
    }

    private static Path resolveShard(Path indexFile, String tensor, JsonNode value)
            throws SafetensorsException {
        if (!value.isTextual() || value.textValue().isEmpty()) {
            throw new SafetensorsException(
                    indexFile,
                    tensor,
                    "weight_map value is not a shard file name but " + value,
                    null);
        }
        Path dir = indexFile.toAbsolutePath().getParent();
        Path shard = dir.resolve(value.textValue()).normalize();
        if (!shard.startsWith(dir.normalize())) {
            throw new SafetensorsException(
                    indexFile,
                    tensor,
                    "shard '" + value.textValue() + "' lies outside " + dir,
                    null);
        }
        if (!Files.isRegularFile(shard)) {
            throw new SafetensorsException(
                    indexFile,
                    tensor,
                    "shard '" + value.textValue() + "' is missing (looked for " + shard + ")",
                    null);
        }
        return shard;
    }

    private static Map<String, String> metadata(Path indexFile, JsonNode node)
            throws SafetensorsException {
        Map<String, String> map = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return map;
        }
        if (!node.isObject()) {
            throw new SafetensorsException(indexFile, "index 'metadata' is not a JSON object");
        }
        Iterator<Map.Entry<String, JsonNode>> it = node.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            map.put(e.getKey(), v.isTextual() ? v.textValue() : v.toString());
        }
        return map;
    }

    /** @return the shard files, in order of first appearance in the index */
    public List<Path> shardFiles() {
        List<Path> files = new ArrayList<>();
        for (SafetensorsFile shard : shards) {
            files.add(shard.location());
        }
        return files;
    }

    /**
     * @param name a tensor name
     * @return the shard file that holds it
     * @throws IllegalArgumentException when the checkpoint has no such tensor
     */
    public Path shardFile(String name) {
        return shard(name).location();
    }

    private SafetensorsFile shard(String name) {
        SafetensorsFile shard = byName.get(name);
        if (shard == null) {
            throw new IllegalArgumentException("no tensor '" + name + "' in " + index);
        }
        return shard;
    }

    /** @return the index file */
    @Override
    public Path location() {
        return index;
    }

    @Override
    public List<String> names() {
        return names;
    }

    @Override
    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        return shard(name).info(name);
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public ByteBuffer rawBytes(String name) throws IOException {
        return shard(name).rawBytes(name);
    }

    @Override
    public NDArray load(String name, NDManager manager, DataType bf16Target) throws IOException {
        return shard(name).load(name, manager, bf16Target);
    }

    @Override
    public float[] loadFloats(String name) throws IOException {
        return shard(name).loadFloats(name);
    }

    /** Closes every shard. Arrays already loaded stay valid. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile shard : shards) {
            try {
                shard.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "ShardedSafetensors["
                + index
                + ", "
                + shards.size()
                + " shards, "
                + names.size()
                + " tensors]";
    }
}
