package dev.peft4j.core.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.io.AtomicDirectory;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.SafetensorsFile;
import dev.peft4j.core.io.ShardedSafetensors;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.HfModelWriter;
import dev.peft4j.core.model.PretrainedFiles;
import dev.peft4j.core.peft.AdapterFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The dense merge of an adapter into a Hugging Face checkpoint, streamed tensor by tensor: the
 * model is never held, so a 7B merge runs in the memory of one tensor.
 *
 * <pre>
 *   out[t] = rule.merge(t, transform(base[t]))   for a tensor the adapter changes
 *   out[t] = transform(base[t])                  for one only the transform changes (QLoRA)
 *   out[t] = base[t]                             otherwise (bytes copied; converted if a dtype is asked)
 * </pre>
 *
 * <p>Base tensors are read in storage order, shard by shard; a changed tensor is loaded in float32
 * (BF16 converted in Java), merged by the method's {@link TensorMergeRule}, and written in the
 * output type ({@link OutputDtype}: the base's by default, as transformers' {@code
 * merge_and_unload} keeps it); untouched tensors are copied file to file without being decoded.
 * The output is sharded as {@code save_pretrained(max_shard_size="5GB")} does, with {@code
 * model.safetensors.index.json}, the base's {@code config.json} ({@code torch_dtype} set when a
 * type is asked) and tokenizer files; it is built in a temporary sibling and renamed into place, so
 * on any error nothing is left. Everything that can be checked before writing is: the adapter
 * against the base (missing tensor, shape), the layer selection against {@code num_hidden_layers}.
 *
 * <p>A {@link LayerSelection} (or a name filter) writes only the selected decoder layers' tensors,
 * every one of them (merged or not), and no tensor outside the layers (no embeddings, final norm or
 * head): a check of a large merge, not a loadable model. The shard headers and the index record it
 * under {@value #SUBSET_KEY}.
 *
 * <pre>{@code
 * try (TensorMergeRule lora = TensorMergeProviders.open(adapterDir)) {
 *     MergeReport r = StreamingMerge.builder().setBase(baseDir).setRule(lora)
 *             .optDtype(OutputDtype.BF16).build().write(outDir);
 * }
 * }</pre>
 */
public final class StreamingMerge {

    /** Metadata key of a subset export: the selection, e.g. {@code layers 0-1,31}. */
    public static final String SUBSET_KEY = "peft4j_subset";

    private static final Logger LOG = LoggerFactory.getLogger(StreamingMerge.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path base;
    private final TensorMergeRule rule;
    private final BaseWeightTransform transform;
    private final OutputDtype dtype;
    private final LayerSelection layers;
    private final Predicate<String> filter;
    private final String filterDescription;
    private final long shardBytes;

    private StreamingMerge(Builder b) {
        this.base = b.base;
        this.rule = b.rule;
        this.transform = b.transform;
        this.dtype = b.dtype;
        this.layers = b.layers;
        this.filter = b.filter;
        this.filterDescription = b.filterDescription;
        this.shardBytes = b.shardBytes;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Checks everything, then writes the merged checkpoint atomically.
     *
     * @param target the directory to produce: absent or empty
     * @return what was written
     * @throws java.nio.file.FileAlreadyExistsException when the target is a file or a non-empty directory
     * @throws IOException when reading or writing fails (nothing is left at the target)
     * @throws IllegalArgumentException naming the tensor or file for an adapter that does not fit
     *     the base, a selection out of range or one that selects nothing
     */
    public MergeReport write(Path target) throws IOException {
        Objects.requireNonNull(target, "target");
        long start = System.nanoTime();
        ObjectNode config = readConfig();
        try (TensorSource source = TensorSources.open(base)) {
            checkNotQuantized(source);
            rule.check(source);
            String mismatch = AdapterFiles.quantizationMismatch(rule.baseQuantization().orElse(null),
                    java.util.Optional.ofNullable(transform == null ? null : transform.describe()));
            if (mismatch != null) {
                LOG.warn("{}: {}", rule.source(), mismatch);
            }
            if (layers != null) {
                layers.checkWithin(layerCount(config));
            }
            List<String> names = selected(source);
            Set<String> changed = rule.changedTensors();
            List<ShardPlan.Entry> entries = new ArrayList<>();
            for (String n : names) {
                TensorInfo info = source.info(n);
                DType out = dtype.resolve(info.dtype());
                if ((changed.contains(n) || transforms(n)) && !info.dtype().isFloating()) {
                    throw new IllegalArgumentException(source.location() + ": tensor '" + n + "' is "
                            + info.dtype() + ", not floating; it cannot be merged");
                }
                entries.add(new ShardPlan.Entry(n, out, info.shape(), info.numel() * out.byteSize()));
            }
            ShardPlan plan = ShardPlan.of(entries, shardBytes);
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("format", "pt");
            String subset = subsetDescription();
            if (subset != null) {
                metadata.put(SUBSET_KEY, subset);
            }
            int merged = 0;
            int transformed = 0;
            try (AtomicDirectory out = AtomicDirectory.create(target);
                    NDManager manager = NDManager.newBaseManager();
                    RawLocator raw = new RawLocator(source)) {
                for (ShardPlan.Shard shard : plan.shards()) {
                    try (FileChannel ch = FileChannel.open(ShardPlan.resolve(out.path(), shard),
                            StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                        TensorBytes.writeFully(ch, ShardPlan.header(shard, metadata));
                        for (ShardPlan.Entry e : shard.entries()) {
                            boolean change = changed.contains(e.name());
                            boolean trans = transforms(e.name());
                            if (change || trans) {
                                writeComputed(source, e, change, trans, ch, manager);
                                merged += change ? 1 : 0;
                                transformed += trans ? 1 : 0;
                            } else {
                                raw.copy(e, ch);
                            }
                        }
                    }
                    LOG.info("wrote {} ({} tensors)", shard.file(), shard.entries().size());
                }
                if (plan.shards().size() > 1) {
                    JSON.writeValue(out.path().resolve(ShardPlan.indexFile()).toFile(), plan.index(metadata));
                }
                JSON.writeValue(out.path().resolve(HfModelWriter.CONFIG_FILE).toFile(), config);
                copyTokenizerFiles(out.path());
                out.commit();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            MergeReport report = new MergeReport(target, entries.size(), merged, transformed, plan.totalBytes(),
                    plan.shards().size(), seconds);
            LOG.info("streamed merge of {} into {}: {} tensors ({} merged, {} transformed), {} bytes in {} files,"
                    + " {} s", rule.source(), target, report.tensors(), merged, transformed, report.bytes(),
                    report.shards(), String.format(java.util.Locale.ROOT, "%.1f", seconds));
            return report;
        }
    }

    private boolean transforms(String name) {
        return transform != null && transform.transforms(name);
    }

    /** Loads (or transforms) one tensor in float32, merges it, checks it and writes it. */
    private void writeComputed(TensorSource source, ShardPlan.Entry e, boolean change, boolean trans,
            FileChannel ch, NDManager manager) throws IOException {
        try (NDManager sub = manager.newSubManager()) {
            NDArray w = trans ? transform.apply(e.name(), source, sub) : loadFloat32(source, e.name(), sub);
            if (change) {
                w = rule.merge(e.name(), w, sub);
            }
            Shape want = new Shape(e.shape());
            if (!w.getShape().equals(want) || w.getDataType() != DataType.FLOAT32) {
                throw new IllegalStateException("merging '" + e.name() + "' gave " + w.getDataType() + w.getShape()
                        + " instead of FLOAT32" + want);
            }
            if (change && (w.isNaN().any().getBoolean() || w.isInfinite().any().getBoolean())) {
                throw new IllegalArgumentException("merging " + rule.source() + " into '" + e.name()
                        + "' gives NaN or Inf weights; nothing was written");
            }
            // a view of the native tensor where the engine allows (no copy, freed with the sub-manager)
            TensorBytes.encodeFloats(w.toByteBuffer(true), e.dtype(), ch);
        }
    }

    private static NDArray loadFloat32(TensorSource source, String name, NDManager manager) throws IOException {
        NDArray a = source.load(name, manager);
        return a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false);
    }

    /** The names to write, in storage order: shard by shard, by offset within a shard. */
    private List<String> selected(TensorSource source) {
        Map<String, Integer> shardOf = new HashMap<>();
        if (source instanceof ShardedSafetensors s) {
            // by file name (model-00001-of-...): the index lists files by first appearance of a sorted name
            List<Path> files = s.shardFiles().stream().sorted(Comparator.comparing(Path::toString)).toList();
            for (String n : s.names()) {
                shardOf.put(n, files.indexOf(s.shardFile(n)));
            }
        }
        List<String> names = new ArrayList<>();
        for (String n : source.names()) {
            if ((layers == null || layers.matches(n)) && (filter == null || filter.test(n))) {
                names.add(n);
            }
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("the selection (" + subsetDescription() + ") matches no tensor of "
                    + source.location());
        }
        names.sort(Comparator.<String>comparingInt(n -> shardOf.getOrDefault(n, 0))
                .thenComparingLong(n -> source.info(n).begin()));
        return names;
    }

    private String subsetDescription() {
        List<String> parts = new ArrayList<>();
        if (layers != null) {
            parts.add("layers " + layers);
        }
        if (filter != null) {
            parts.add("tensors " + filterDescription);
        }
        return parts.isEmpty() ? null : String.join(", ", parts);
    }

    private static void checkNotQuantized(TensorSource source) {
        for (String n : source.names()) {
            if (n.contains(".quant_state.")) {
                throw new IllegalArgumentException(source.location() + " is saved quantized (tensor '" + n
                        + "'); the streaming merge reads full-precision checkpoints: merge it in memory"
                        + " (peft4j merge without --streaming)");
            }
        }
    }

    private ObjectNode readConfig() throws IOException {
        Path file = base.resolve(HfModelWriter.CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "the base model directory has no config.json");
        }
        JsonNode json = JSON.readTree(file.toFile());
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException(file + ": config.json must be a JSON object");
        }
        ObjectNode config = (ObjectNode) json;
        config.remove("quantization_config");
        if (dtype != OutputDtype.BASE) {
            config.put("torch_dtype", OutputDtype.torchName(dtype.resolve(DType.F32)));
        }
        return config;
    }

    private int layerCount(ObjectNode config) {
        JsonNode n = config.get("num_hidden_layers");
        if (n == null || !n.canConvertToInt()) {
            throw new IllegalArgumentException(base.resolve(HfModelWriter.CONFIG_FILE)
                    + " has no num_hidden_layers to check the layer selection against");
        }
        return n.asInt();
    }

    private void copyTokenizerFiles(Path dir) throws IOException {
        for (String f : PretrainedFiles.TOKENIZER_FILES) {
            Path p = base.resolve(f);
            if (Files.isRegularFile(p)) {
                Files.copy(p, dir.resolve(f));
            }
        }
    }

    /** Copies stored tensors file to file: no decoding, no mapping ({@code transferTo}). */
    private final class RawLocator implements AutoCloseable {

        private final TensorSource source;
        private final Map<Path, FileChannel> channels = new HashMap<>();
        private final Map<Path, Long> dataStarts = new HashMap<>();

        RawLocator(TensorSource source) {
            this.source = source;
        }

        void copy(ShardPlan.Entry e, FileChannel out) throws IOException {
            TensorInfo info = source.info(e.name());
            Path file;
            if (source instanceof ShardedSafetensors s) {
                file = s.shardFile(e.name());
            } else if (source instanceof SafetensorsFile f) {
                file = f.location();
            } else {
                throw new IllegalStateException("cannot stream from " + source.getClass().getSimpleName());
            }
            FileChannel in = channels.get(file);
            if (in == null) {
                in = FileChannel.open(file, StandardOpenOption.READ);
                channels.put(file, in);
                try (SafetensorsFile header = SafetensorsFile.open(file)) {
                    dataStarts.put(file, header.dataStart());
                }
            }
            long position = dataStarts.get(file) + info.begin();
            if (e.dtype() == info.dtype()) {
                long len = info.byteSize();
                for (long done = 0; done < len; ) {
                    long n = in.transferTo(position + done, len - done, out);
                    if (n <= 0) {
                        throw new IOException(file + ": unexpected end of file in tensor '" + e.name() + "'");
                    }
                    done += n;
                }
            } else {
                TensorBytes.convert(in, position, info.numel(), info.dtype(), e.dtype(), out);
            }
        }

        @Override
        public void close() throws IOException {
            for (FileChannel c : channels.values()) {
                c.close();
            }
        }
    }

    /** Builds a {@link StreamingMerge}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {

        private Path base;
        private TensorMergeRule rule;
        private BaseWeightTransform transform;
        private OutputDtype dtype = OutputDtype.BASE;
        private LayerSelection layers;
        private Predicate<String> filter;
        private String filterDescription;
        private long shardBytes = DEFAULT_SHARD_BYTES;

        /** transformers' default {@code max_shard_size}, "5GB" (decimal). */
        public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

        private Builder() {}

        /**
         * @param dir the base model directory ({@code config.json}, {@code model.safetensors} or a
         *     sharded checkpoint)
         * @return this builder
         */
        public Builder setBase(Path dir) {
            this.base = dir;
            return this;
        }

        /**
         * @param rule the adapter's merge rule (not closed by the merge)
         * @return this builder
         */
        public Builder setRule(TensorMergeRule rule) {
            this.rule = rule;
            return this;
        }

        /**
         * @param transform what loading did to base weights (QLoRA's 4-bit round trip); none by default
         * @return this builder
         */
        public Builder optTransform(BaseWeightTransform transform) {
            this.transform = transform;
            return this;
        }

        /**
         * @param dtype the output type (default {@link OutputDtype#BASE})
         * @return this builder
         */
        public Builder optDtype(OutputDtype dtype) {
            this.dtype = dtype;
            return this;
        }

        /**
         * @param layers write only these decoder layers' tensors
         * @return this builder
         */
        public Builder optLayers(LayerSelection layers) {
            this.layers = layers;
            return this;
        }

        /**
         * @param filter write only tensors whose name it accepts (with a layer selection: both must)
         * @param description how to name it in messages and metadata, e.g. the regex
         * @return this builder
         */
        public Builder optTensorFilter(Predicate<String> filter, String description) {
            this.filter = filter;
            this.filterDescription = description;
            return this;
        }

        /**
         * @param bytes the largest shard (default {@value #DEFAULT_SHARD_BYTES}); a larger tensor gets a shard of its own
         * @return this builder
         */
        public Builder optShardBytes(long bytes) {
            this.shardBytes = bytes;
            return this;
        }

        /**
         * @return the merge
         * @throws IllegalArgumentException without a base or a rule, or with a non-positive shard size
         */
        public StreamingMerge build() {
            if (base == null) {
                throw new IllegalArgumentException("a base model directory is required (setBase)");
            }
            if (rule == null) {
                throw new IllegalArgumentException("an adapter merge rule is required (setRule)");
            }
            if (dtype == null) {
                throw new IllegalArgumentException("dtype must not be null");
            }
            if (shardBytes <= 0) {
                throw new IllegalArgumentException("the shard size must be positive, got " + shardBytes);
            }
            return new StreamingMerge(this);
        }
    }
}
