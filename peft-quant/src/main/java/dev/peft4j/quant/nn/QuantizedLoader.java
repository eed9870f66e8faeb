package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorInfo;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.nn.LoaderBuilder;
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
 * tensor throws {@link StateDictException} listing all of them, and nothing is loaded. The key
 * mapper sees only a pre-quantized weight's own name; its {@code .absmax}, {@code .quant_map}, ...
 * entries go with it.
 */
public final class QuantizedLoader {

    private static final Logger LOG = LoggerFactory.getLogger(QuantizedLoader.class);

    private final WeightLoader.Request settings;
    private final TensorSource source;

    private enum Kind { NORMAL, QUANTIZE, PREQUANTIZED }

    private record Step(Kind kind, String name, Parameter parameter, Linear4bit layer) {}

    private QuantizedLoader(WeightLoader.Request settings) {
        this.settings = settings;
        this.source = settings.source();
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

    /**
     * How a checkpoint's weights should land: as saved when its {@code config.json} says it was
     * saved quantized ({@value HfQuantizationConfig#KEY}), quantized with {@code requested} while
     * loading otherwise, else in full precision.
     *
     * @param config the checkpoint's {@code config.json}
     * @param requested the 4-bit settings asked for, or null
     * @return the weight loader
     * @throws ConfigException when a checkpoint saved quantized is asked to be quantized again
     */
    public static WeightLoader forCheckpoint(HfConfig config, QuantizationConfig requested) {
        if (!HfQuantizationConfig.isPresent(config.json())) {
            return requested == null ? WeightLoader.FULL_PRECISION : quantizing(requested);
        }
        QuantizationConfig saved = HfQuantizationConfig.read(config.json(), config.source());
        if (requested != null) {
            throw new ConfigException(config.source() + ": the model is saved quantized (" + HfQuantizationConfig.KEY
                    + ": " + saved.quantType().bnbName() + ") and loads as it is; quantizing it again ("
                    + requested.quantType().bnbName() + ") is not possible");
        }
        return quantizing(saved);
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
            QuantizedLoadReport report = new QuantizedLoader(r).load(model);
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
                        module, source, settings.keyMapper(), settings.ignore().or(auxiliary::contains), fit)
                .check(settings.strict(), settings.mayBeMissing(), source.location().toString());
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
        step.layer().setQuantized(q, settings.manager());
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
        step.layer().setQuantized(q, settings.manager());
        live.hold(step.layer().deviceBytes());
        live.release(q.state().packedSize());
    }

    private void loadNormal(Step step, LiveBytes live) throws IOException {
        NDArray value = source.load(step.name(), settings.manager());
        live.hold(bytes(value));
        DType stored = source.info(step.name()).dtype();
        if (stored.isFloating() && value.getDataType() != settings.dataType()) {
            NDArray converted = value.toType(settings.dataType(), false);
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
    public static final class Builder extends LoaderBuilder<Builder> {

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** @return the loader */
        public QuantizedLoader build() {
            return new QuantizedLoader(settings("QuantizedLoader"));
        }
    }
}
