package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.nn.StateDictException;
import dev.peft4j.core.nn.StateDictLoader;
import dev.peft4j.core.nn.StateDictPlan;
import dev.peft4j.core.nn.WeightLoader;
import dev.peft4j.core.nn.StateDictReport;
import dev.peft4j.quant.QuantState;
import dev.peft4j.quant.QuantStateDict;
import dev.peft4j.quant.QuantizedTensor;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Loads a checkpoint into a module tree whose linear layers were replaced by {@link Linear4bit}
 * shells ({@link Quantizer#quantizeModules}), quantizing while streaming: the {@link
 * StateDictLoader} counterpart, with the same options and checks.
 *
 * <pre>{@code
 * Quantizer.quantizeModules(model, config);
 * QuantizedLoadReport report = QuantizedLoader.builder()
 *         .setSource(TensorSources.open(dir))
 *         .setManager(manager)
 *         .build()
 *         .load(model);
 * }</pre>
 *
 * <p>For a {@link Linear4bit} weight the loader either reads it already quantized (the checkpoint
 * holds {@code X.weight.quant_state.bitsandbytes__nf4} and friends, {@link QuantStateDict}; no
 * re-quantization, the checkpoint's quant type and block size win) or reads the floating tensor
 * (F32, F16, BF16, F64) into float32 in Java, quantizes it with the layer's settings and keeps only
 * the packed codes and scales; the float values are dropped at once. One weight is in float32 at a
 * time, so the peak memory is the final model plus about one layer in float32 ({@link
 * QuantizedLoadReport} accounts for it). Other parameters load as {@link StateDictLoader} loads
 * them.
 *
 * <p>Everything is checked first: in strict mode (default) a missing, unexpected or mismatched
 * tensor throws {@link StateDictException} listing all of them, and nothing is loaded.
 */
public final class QuantizedLoader {

    private static final Logger LOG = LoggerFactory.getLogger(QuantizedLoader.class);

    private final TensorSource source;
    private final NDManager manager;
    private final DataType dataType;
    private final boolean strict;
    private final Function<String, String> keyMapper;
    private final Predicate<String> ignore;
    private final Predicate<String> mayBeMissing;

    private enum Kind { NORMAL, QUANTIZE, PREQUANTIZED }

    private record Step(Kind kind, String name, Parameter parameter, Linear4bit layer) {}

    private QuantizedLoader(Builder b) {
        source = b.source;
        manager = b.manager;
        dataType = b.dataType;
        strict = b.strict;
        keyMapper = b.keyMapper;
        ignore = b.ignore;
        mayBeMissing = b.mayBeMissing;
    }

    /**
     * Quantize-on-load for the model families' loaders ({@code BertModel.load}, {@code
     * BertForSequenceClassification.loader().optWeightLoader}, {@code LlamaForCausalLM.load}):
     * replaces the built model's linear layers by 4-bit shells ({@link Quantizer#quantizeModules})
     * and loads it with this loader under the family's names, ignore list and strictness. Weights
     * saved quantized load as saved.
     *
     * @param config the 4-bit settings
     * @return the weight loader
     */
    public static Quantizing quantizing(QuantizationConfig config) {
        return new Quantizing(config);
    }

    /** The weight loader of {@link #quantizing}; keeps the memory report of its latest load. */
    public static final class Quantizing implements WeightLoader {

        private final QuantizationConfig config;
        private volatile QuantizedLoadReport last;

        private Quantizing(QuantizationConfig config) {
            this.config = Objects.requireNonNull(config, "config");
        }

        @Override
        public StateDictReport load(Module model, Request r) {
            List<String> replaced = Quantizer.quantizeModules(model, config);
            QuantizedLoadReport report = builder().setSource(r.source()).setManager(r.manager())
                    .optDataType(r.dataType()).optKeyMapper(r.keyMapper()).optIgnore(r.ignore())
                    .optMayBeMissing(r.mayBeMissing()).optStrict(r.strict()).build().load(model);
            LOG.info("{}: {} linear layers in 4 bits; {}", r.source().location(), replaced.size(), report.summary());
            last = report;
            return report.stateDict();
        }

        /** @return the report of the latest load, with its live-byte accounting, if any */
        public Optional<QuantizedLoadReport> lastReport() {
            return Optional.ofNullable(last);
        }
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Checks, then loads.
     *
     * @param module the root of the tree to fill
     * @return the matching report and the memory accounting
     * @throws StateDictException in strict mode when anything does not match
     * @throws UncheckedIOException when a tensor cannot be read
     * @throws IllegalArgumentException naming the tensor when a quantized entry is malformed or a
     *     weight holds a non-finite value
     */
    public QuantizedLoadReport load(Module module) {
        Set<String> prequantized = new HashSet<>();
        Set<String> auxiliary = new HashSet<>();
        findPrequantized(prequantized, auxiliary);
        StateDictPlan.Fit sameShape = StateDictPlan.Fit.sameShape();
        StateDictPlan.Fit fit = (name, info, owner, local) -> {
            if (isQuantWeight(owner, local)) {
                return prequantized.contains(name)
                        || (info.dtype().isFloating() && sameShape.test(name, info, owner, local));
            }
            return !prequantized.contains(name) && sameShape.test(name, info, owner, local);
        };
        StateDictPlan plan = StateDictPlan.of(
                        module, source, keyMapper, ignore.or(auxiliary::contains), fit)
                .check(strict, mayBeMissing, source.location().toString());
        List<Step> steps = new ArrayList<>();
        for (StateDictPlan.Entry e : plan.entries()) {
            Linear4bit layer = isQuantWeight(e.owner(), e.local()) ? (Linear4bit) e.owner() : null;
            Kind kind = layer == null ? Kind.NORMAL
                    : prequantized.contains(e.name()) ? Kind.PREQUANTIZED : Kind.QUANTIZE;
            steps.add(new Step(kind, e.name(), e.parameter(), layer));
        }
        StateDictReport report = plan.report();

        LiveBytes live = new LiveBytes();
        int quantized = 0;
        int pre = 0;
        long largest = 0;
        for (Step step : steps) {
            try {
                switch (step.kind()) {
                    case QUANTIZE -> {
                        largest = Math.max(largest, 4 * source.info(step.name()).numel());
                        quantize(step, live);
                        quantized++;
                    }
                    case PREQUANTIZED -> {
                        readQuantized(step, live);
                        pre++;
                    }
                    default -> loadNormal(step, live);
                }
            } catch (IOException ex) {
                throw new UncheckedIOException(
                        "cannot read tensor '" + step.name() + "' from " + source.location(), ex);
            }
        }
        QuantizedLoadReport out =
                new QuantizedLoadReport(
                        report, quantized, pre, live.peak(), live.live(), largest,
                        ProcessMemory.rssBytes().orElse(-1));
        LOG.info("loaded {} from {}", out.summary(), source.location());
        return out;
    }

    private void findPrequantized(Set<String> bases, Set<String> auxiliary) {
        for (String name : source.names()) {
            int at = name.indexOf(QuantStateDict.QUANT_STATE);
            if (at <= 0) {
                continue;
            }
            String base = name.substring(0, at);
            bases.add(base);
            auxiliary.add(name);
            for (String suffix :
                    List.of(
                            QuantStateDict.ABSMAX,
                            QuantStateDict.QUANT_MAP,
                            QuantStateDict.NESTED_ABSMAX,
                            QuantStateDict.NESTED_QUANT_MAP)) {
                auxiliary.add(base + suffix);
            }
        }
    }

    private void quantize(Step step, LiveBytes live) throws IOException {
        TensorInfo info = source.info(step.name());
        long f32 = 4 * info.numel();
        float[] values = source.loadFloats(step.name());
        live.hold(f32);
        int blocksize = step.layer().config().blocksize();
        // The quantizer's packed output and its float32 block-scale scratch (two arrays).
        long scratch = (info.numel() + 1) / 2 + 8L * ((info.numel() + blocksize - 1) / blocksize);
        live.hold(scratch);
        QuantizedTensor q;
        try {
            q = step.layer().config().quantizer(torchDtype(info.dtype()))
                    .quantize(values, info.shape());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    source.location() + ": tensor '" + step.name() + "': " + e.getMessage(), e);
        }
        values = null;
        live.release(scratch);
        long heap = q.state().packedSize() + stateBytes(q.state());
        live.hold(heap);
        live.release(f32);
        step.layer().setQuantized(q, manager);
        live.hold(step.layer().deviceBytes());
        live.release(q.state().packedSize());
    }

    private void readQuantized(Step step, LiveBytes live) throws IOException {
        QuantizedTensor q;
        try {
            q = QuantStateDict.read(step.name(), source);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source.location() + ": " + e.getMessage(), e);
        }
        live.hold(q.state().packedSize() + stateBytes(q.state()));
        step.layer().setQuantized(q, manager);
        live.hold(step.layer().deviceBytes());
        live.release(q.state().packedSize());
    }

    private void loadNormal(Step step, LiveBytes live) throws IOException {
        NDArray value = source.load(step.name(), manager);
        live.hold(bytes(value));
        DType stored = source.info(step.name()).dtype();
        if (stored.isFloating() && value.getDataType() != dataType) {
            NDArray converted = value.toType(dataType, false);
            live.hold(bytes(converted));
            live.release(bytes(value));
            value.close();
            value = converted;
        }
        boolean fresh = !step.parameter().isInitialized();
        long size = bytes(value);
        Params.assign(step.parameter(), value);
        if (!fresh) {
            live.release(size);
        }
    }

    /** Bytes of the Java-side state a {@link Linear4bit} keeps besides the packed codes. */
    static long stateBytes(QuantState s) {
        if (s.nested().isPresent()) {
            int blocks = s.blockCount();
            return blocks + 4L * ((blocks + 255) / 256) + 4L * 256;
        }
        return 4L * s.blockCount();
    }

    private static long bytes(NDArray a) {
        return a.size() * a.getDataType().getNumOfBytes();
    }

    private static String torchDtype(DType dtype) {
        return switch (dtype) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        };
    }

    private static boolean isQuantWeight(Module owner, String local) {
        return owner instanceof Linear4bit && local.equals("weight");
    }

    /** Builder of {@link QuantizedLoader}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private TensorSource source;
        private NDManager manager;
        private DataType dataType = DataType.FLOAT32;
        private boolean strict = true;
        private Function<String, String> keyMapper = Function.identity();
        private Predicate<String> ignore = k -> false;
        private Predicate<String> mayBeMissing = k -> false;

        private Builder() {}

        /**
         * @param source where the tensors come from (required)
         * @return this builder
         */
        public Builder setSource(TensorSource source) {
            this.source = source;
            return this;
        }

        /**
         * @param manager owner of the loaded arrays (required); its device is where they go
         * @return this builder
         */
        public Builder setManager(NDManager manager) {
            this.manager = manager;
            return this;
        }

        /**
         * @param dataType type the non-quantized floating tensors are converted to (default
         *     float32)
         * @return this builder
         */
        public Builder optDataType(DataType dataType) {
            this.dataType = dataType;
            return this;
        }

        /**
         * @param strict whether any mismatch throws (default true)
         * @return this builder
         */
        public Builder optStrict(boolean strict) {
            this.strict = strict;
            return this;
        }

        /**
         * @param keyMapper maps a checkpoint name to a parameter path; {@code null} skips the
         *     tensor silently (default identity). For a pre-quantized weight only the weight's own
         *     name is mapped; its {@code .absmax}, {@code .quant_map}, ... entries go with it.
         * @return this builder
         */
        public Builder optKeyMapper(Function<String, String> keyMapper) {
            this.keyMapper = keyMapper;
            return this;
        }

        /**
         * @param ignore checkpoint names to skip silently
         * @return this builder
         */
        public Builder optIgnore(Predicate<String> ignore) {
            this.ignore = ignore;
            return this;
        }

        /**
         * @param mayBeMissing parameter paths that strict mode lets be absent (a fresh head);
         *     default none
         * @return this builder
         */
        public Builder optMayBeMissing(Predicate<String> mayBeMissing) {
            this.mayBeMissing = Objects.requireNonNull(mayBeMissing, "mayBeMissing");
            return this;
        }

        /** @return the loader */
        public QuantizedLoader build() {
            Objects.requireNonNull(source, "QuantizedLoader: source is required (setSource)");
            Objects.requireNonNull(manager, "QuantizedLoader: manager is required (setManager)");
            Objects.requireNonNull(keyMapper, "QuantizedLoader: keyMapper is null");
            Objects.requireNonNull(ignore, "QuantizedLoader: ignore is null");
            if (dataType == null || !dataType.isFloating()) {
                throw new IllegalArgumentException(
                        "QuantizedLoader: dataType must be floating, got " + dataType);
            }
            return new QuantizedLoader(this);
        }
    }
}
