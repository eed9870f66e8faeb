package dev.peft4j.core.model.random;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.AtomicDirectory;
import dev.peft4j.core.io.HalfFloats;
import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorSources;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Writes a random-weight Hugging Face checkpoint of a {@link ModelShape}: {@code config.json} and
 * BF16 safetensors, sharded as transformers' {@code save_pretrained(max_shard_size="5GB")} does
 * (tensors in {@code state_dict} order, a new shard when the next tensor would pass the limit,
 * files {@code model-0000i-of-0000n.safetensors} and {@code model.safetensors.index.json} with
 * {@code metadata.total_size} and a sorted {@code weight_map}; a single {@code model.safetensors}
 * when everything fits in one shard).
 *
 * <p>Weights follow Hugging Face's {@code _init_weights}: linear and embedding weights
 * {@code normal(0, initializer_range)} rounded to BF16, biases 0, RMSNorm weights 1. Each tensor
 * draws from its own generator, seeded from the checkpoint seed and the tensor name, so a tensor's
 * values depend on the seed only (not on the shard size or the other tensors). The model is never
 * held: each tensor is generated and written in chunks of 2<sup>20</sup> elements, so
 * memory stays at a few MiB whatever the shape. The directory is built beside the target and
 * renamed into place.
 *
 * <pre>{@code
 * RandomCheckpoint.builder()
 *         .setShape(ModelShape.named("tinyllama-1.1b"))
 *         .optSeed(42)
 *         .build()
 *         .write(Path.of("/tmp/tinyllama"));
 * }</pre>
 */
public final class RandomCheckpoint {

    /** transformers' default {@code max_shard_size}, "5GB" (decimal). */
    public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

    /** Elements generated and written at once. */
    static final int CHUNK_ELEMENTS = 1 << 20;

    private static final ObjectMapper JSON =
            JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private final ModelShape shape;
    private final long seed;
    private final long shardBytes;
    private final double std;

    private RandomCheckpoint(Builder b) {
        this.shape = b.shape;
        this.seed = b.seed;
        this.shardBytes = b.shardBytes;
        this.std = shape.config().path("initializer_range").asDouble(0.02);
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the shape written */
    public ModelShape shape() {
        return shape;
    }

    /**
     * Plans the shards: tensors in order, a new shard when adding the next one would exceed the
     * shard size (a tensor larger than the shard size gets a shard of its own).
     *
     * @return the tensors of each shard
     */
    public List<List<TensorSpec>> shards() {
        List<List<TensorSpec>> shards = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long size = 0;
        for (TensorSpec t : shape.tensors()) {
            long bytes = 2 * t.elements();
            if (!current.isEmpty() && size + bytes > shardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += bytes;
        }
        shards.add(current);
        return shards;
    }

    /**
     * Writes the checkpoint atomically.
     *
     * @param target the directory to produce: absent or empty
     * @return the bytes of tensor data written ({@code metadata.total_size})
     * @throws java.nio.file.FileAlreadyExistsException when the target is a file or a non-empty
     *     directory
     * @throws IOException when writing fails (nothing is left at the target)
     */
    public long write(Path target) throws IOException {
        Objects.requireNonNull(target, "target");
        List<List<TensorSpec>> shards = shards();
        try (AtomicDirectory out = AtomicDirectory.create(target)) {
            JSON.writeValue(out.path().resolve("config.json").toFile(), shape.config());
            Map<String, String> weightMap = new TreeMap<>();
            long total = 0;
            for (int i = 0; i < shards.size(); i++) {
                String file = shards.size() == 1 ? TensorSources.SINGLE_FILE
                        : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
                total += writeShard(shards.get(i), out.path().resolve(file));
                for (TensorSpec t : shards.get(i)) {
                    weightMap.put(t.name(), file);
                }
            }
            if (shards.size() > 1) {
                ObjectNode index = JSON.createObjectNode();
                index.putObject("metadata").put("total_size", total);
                ObjectNode map = index.putObject("weight_map");
                weightMap.forEach(map::put);
                JSON.writeValue(out.path().resolve(ShardedSafetensors.INDEX_FILE).toFile(), index);
            }
            out.commit();
            return total;
        }
    }

    private long writeShard(List<TensorSpec> tensors, Path file) throws IOException {
        long data = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeFully(ch, header(tensors));
            ByteBuffer chunk = ByteBuffer.allocateDirect(2 * CHUNK_ELEMENTS).order(ByteOrder.LITTLE_ENDIAN);
            for (TensorSpec t : tensors) {
                data += writeTensor(ch, t, chunk);
            }
        }
        return data;
    }

    private long writeTensor(FileChannel ch, TensorSpec t, ByteBuffer chunk) throws IOException {
        SplittableRandom random = generator(seed, t.name());
        short constant = HalfFloats.floatToBf16(t.init() == TensorSpec.Init.ONES ? 1f : 0f);
        long n = t.elements();
        for (long done = 0; done < n; ) {
            int len = (int) Math.min(CHUNK_ELEMENTS, n - done);
            chunk.clear();
            for (int i = 0; i < len; i++) {
                chunk.putShort(t.init() == TensorSpec.Init.NORMAL
                        ? HalfFloats.floatToBf16((float) (std * random.nextGaussian())) : constant);
            }
            chunk.flip();
            writeFully(ch, chunk);
            done += len;
        }
        return 2 * n;
    }

    /**
     * The generator of one tensor.
     *
     * @param seed the checkpoint seed
     * @param name the tensor name
     * @return a generator seeded from both
     */
    static SplittableRandom generator(long seed, String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ h);
    }

    private static ByteBuffer header(List<TensorSpec> tensors) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (TensorSpec t : tensors) {
            ObjectNode e = root.putObject(t.name());
            e.put("dtype", "BF16");
            ArrayNode dims = e.putArray("shape");
            for (long d : t.shape()) {
                dims.add(d);
            }
            long bytes = 2 * t.elements();
            e.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = new ObjectMapper().writeValueAsBytes(root);
        int padded = (json.length + 7) & ~7;
        ByteBuffer buf = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded).put(json);
        while (buf.hasRemaining()) {
            buf.put((byte) ' ');
        }
        return buf.flip();
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /** Builds a {@link RandomCheckpoint}. */
    public static final class Builder {

        private ModelShape shape;
        private long seed;
        private long shardBytes = DEFAULT_SHARD_BYTES;

        private Builder() {}

        /**
         * @param shape the model shape
         * @return this builder
         */
        public Builder setShape(ModelShape shape) {
            this.shape = shape;
            return this;
        }

        /**
         * @param seed the seed of every tensor's generator (default 0)
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param bytes the largest shard, in bytes (default {@value RandomCheckpoint#DEFAULT_SHARD_BYTES})
         * @return this builder
         */
        public Builder optShardBytes(long bytes) {
            this.shardBytes = bytes;
            return this;
        }

        /**
         * @return the writer
         * @throws IllegalArgumentException without a shape or with a non-positive shard size
         */
        public RandomCheckpoint build() {
            if (shape == null) {
                throw new IllegalArgumentException("a model shape is required");
            }
            if (shardBytes <= 0) {
                throw new IllegalArgumentException("the shard size must be positive, got " + shardBytes);
            }
            return new RandomCheckpoint(this);
        }
    }
}
