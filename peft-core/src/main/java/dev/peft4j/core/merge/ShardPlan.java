package dev.peft4j.core.merge;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorSources;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The output files of a streamed export, planned before any byte is written (a safetensors header
 * needs every offset): tensors in order, a new shard when the next tensor would pass the shard
 * size, as transformers' {@code save_pretrained(max_shard_size)}; files {@code
 * model-0000i-of-0000n.safetensors} with {@code model.safetensors.index.json}, or one {@code
 * model.safetensors}.
 */
final class ShardPlan {

    /** One output tensor. */
    record Entry(String name, DType dtype, long[] shape, long bytes) {}

    /** One output file. */
    record Shard(String file, List<Entry> entries) {

        long dataBytes() {
            return entries.stream().mapToLong(Entry::bytes).sum();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Shard> shards;

    private ShardPlan(List<Shard> shards) {
        this.shards = shards;
    }

    static ShardPlan of(List<Entry> entries, long shardBytes) {
        List<List<Entry>> groups = new ArrayList<>();
        List<Entry> current = new ArrayList<>();
        long size = 0;
        for (Entry e : entries) {
            if (!current.isEmpty() && size + e.bytes() > shardBytes) {
                groups.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(e);
            size += e.bytes();
        }
        groups.add(current);
        List<Shard> shards = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            String file = groups.size() == 1 ? TensorSources.SINGLE_FILE
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, groups.size());
            shards.add(new Shard(file, groups.get(i)));
        }
        return new ShardPlan(shards);
    }

    List<Shard> shards() {
        return shards;
    }

    long totalBytes() {
        return shards.stream().mapToLong(Shard::dataBytes).sum();
    }

    /** The safetensors header of one shard: 8-byte length, JSON padded with spaces to 8 bytes. */
    static ByteBuffer header(Shard shard, Map<String, String> metadata) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode meta = root.putObject("__metadata__");
        metadata.forEach(meta::put);
        long offset = 0;
        for (Entry t : shard.entries()) {
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", t.dtype().name());
            ArrayNode dims = e.putArray("shape");
            for (long d : t.shape()) {
                dims.add(d);
            }
            e.putArray("data_offsets").add(offset).add(offset + t.bytes());
            offset += t.bytes();
        }
        byte[] json = JSON.writeValueAsBytes(root);
        int padded = (json.length + 7) & ~7;
        ByteBuffer buf = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded).put(json);
        while (buf.hasRemaining()) {
            buf.put((byte) ' ');
        }
        return buf.flip();
    }

    /** {@code model.safetensors.index.json}'s content: {@code metadata} and a sorted {@code weight_map}. */
    ObjectNode index(Map<String, String> metadata) {
        ObjectNode index = JSON.createObjectNode();
        ObjectNode meta = index.putObject("metadata");
        meta.put("total_size", totalBytes());
        metadata.forEach(meta::put);
        Map<String, String> sorted = new TreeMap<>();
        for (Shard s : shards) {
            for (Entry e : s.entries()) {
                sorted.put(e.name(), s.file());
            }
        }
        ObjectNode map = index.putObject("weight_map");
        sorted.forEach(map::put);
        return index;
    }

    /** @return the index file name */
    static String indexFile() {
        return ShardedSafetensors.INDEX_FILE;
    }

    static Path resolve(Path dir, Shard shard) {
        return dir.resolve(shard.file());
    }
}
