package dev.peft4j.core.model;

import ai.djl.Device;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.nn.WeightLoader;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Settings of the typed models' {@code fromPretrained(pathOrBuiltinId, options)}: where the
 * weights live, how they land (full precision, or peft-quant's 4-bit loaders), and, for
 * classifiers, labels and pooling; for the tokenizer, the maximum tokens per text.
 *
 * <pre>{@code
 * PretrainedOptions options = PretrainedOptions.builder()
 *         .optLabels(List.of("negative", "positive"))
 *         .optPooling(Pooling.MEAN)
 *         .optMaxLength(128)
 *         .build();
 * try (BertForSequenceClassification model =
 *         BertForSequenceClassification.fromPretrained(Builtins.ALL_MINILM_L6_V2, options)) {
 *     List<Prediction> p = model.predict(List.of("great coffee"));
 * }
 * }</pre>
 *
 * <p>Weight loading: with no loader given, a directory saved 4-bit ({@code quantization_config},
 * bitsandbytes layout) loads as saved through the {@link SavedWeightLoaders} found on the class
 * path (peft-quant provides one), and anything else in full precision. A fixed loader ({@link
 * Builder#optWeightLoader(WeightLoader)}, e.g. {@code QuantizedLoader.quantizing(config)} for
 * QLoRA's quantize-on-load) applies to full-precision checkpoints; a checkpoint saved 4-bit still
 * loads as saved. A factory ({@link Builder#optWeightLoader(Function)}, e.g. {@code hf ->
 * QuantizedLoader.forCheckpoint(hf, config)}) decides alone.
 */
public final class PretrainedOptions {

    private static final PretrainedOptions DEFAULTS = builder().build();

    private final Device device;
    private final WeightLoader weightLoader;
    private final Function<HfConfig, WeightLoader> weightLoaderFactory;
    private final List<String> labels;
    private final Pooling pooling;
    private final int maxLength;

    private PretrainedOptions(Builder b) {
        this.device = b.device;
        this.weightLoader = b.weightLoader;
        this.weightLoaderFactory = b.weightLoaderFactory;
        this.labels = b.labels;
        this.pooling = b.pooling;
        this.maxLength = b.maxLength;
    }

    /** @return the default options: DJL's default device, automatic weight loading */
    public static PretrainedOptions defaults() {
        return DEFAULTS;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the device of the model's arrays, or null for DJL's default */
    public Device device() {
        return device;
    }

    /** @return the classifier's label names, when given */
    public Optional<List<String>> labels() {
        return Optional.ofNullable(labels);
    }

    /** @return the classifier's or encoder's pooling, when given */
    public Optional<Pooling> pooling() {
        return Optional.ofNullable(pooling);
    }

    /** @return tokens per text, special tokens included; 0 for the model's default */
    public int maxLength() {
        return maxLength;
    }

    /**
     * How the weights of a checkpoint land, as the class comment describes.
     *
     * @param config the checkpoint's {@code config.json}
     * @return the weight loader
     * @throws ConfigException when the checkpoint is saved 4-bit and no provider is on the class
     *     path
     */
    public WeightLoader weightLoader(HfConfig config) {
        if (weightLoaderFactory != null) {
            return weightLoaderFactory.apply(config);
        }
        Optional<WeightLoader> saved = SavedWeightLoaders.find(config);
        if (saved.isPresent()) {
            return saved.get();
        }
        return weightLoader != null ? weightLoader : WeightLoader.FULL_PRECISION;
    }

    /** Builds {@link PretrainedOptions}; every setting is optional. */
    public static final class Builder {
        private Device device;
        private WeightLoader weightLoader;
        private Function<HfConfig, WeightLoader> weightLoaderFactory;
        private List<String> labels;
        private Pooling pooling;
        private int maxLength;

        private Builder() {}

        /**
         * @param device where the model's arrays live (default: DJL's default device)
         * @return this builder
         */
        public Builder optDevice(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /**
         * @param loader how full-precision checkpoints' weights land, e.g. peft-quant's {@code
         *     QuantizedLoader.quantizing(config)}; a checkpoint saved 4-bit loads as saved
         * @return this builder
         */
        public Builder optWeightLoader(WeightLoader loader) {
            this.weightLoader = Objects.requireNonNull(loader, "loader");
            this.weightLoaderFactory = null;
            return this;
        }

        /**
         * @param factory picks the loader from the checkpoint's {@code config.json}, e.g. {@code hf
         *     -> QuantizedLoader.forCheckpoint(hf, config)}
         * @return this builder
         */
        public Builder optWeightLoader(Function<HfConfig, WeightLoader> factory) {
            this.weightLoaderFactory = Objects.requireNonNull(factory, "factory");
            this.weightLoader = null;
            return this;
        }

        /**
         * @param labels a classifier's label names by class index (default: the config's {@code
         *     id2label}); a head of another size starts fresh
         * @return this builder
         */
        public Builder optLabels(List<String> labels) {
            if (labels.isEmpty()) {
                throw new IllegalArgumentException("labels must not be empty");
            }
            this.labels = List.copyOf(labels);
            return this;
        }

        /**
         * @param numLabels a classifier's number of classes, named {@code LABEL_0 ..} as in
         *     transformers
         * @return this builder
         */
        public Builder optNumLabels(int numLabels) {
            if (numLabels < 1) {
                throw new IllegalArgumentException("numLabels must be positive, got " + numLabels);
            }
            return optLabels(dev.peft4j.core.model.bert.BertConfig.defaultLabels(numLabels));
        }

        /**
         * @param pooling a classifier's sequence vector (default: the config's {@code
         *     peft4j_pooling}, else the pooler)
         * @return this builder
         */
        public Builder optPooling(Pooling pooling) {
            this.pooling = Objects.requireNonNull(pooling, "pooling");
            return this;
        }

        /**
         * @param maxLength tokens per text, special tokens included; longer texts are truncated
         *     (default: 256 for the built-in MiniLM, else {@code max_position_embeddings})
         * @return this builder
         */
        public Builder optMaxLength(int maxLength) {
            if (maxLength < 0) {
                throw new IllegalArgumentException("maxLength must not be negative, got " + maxLength);
            }
            this.maxLength = maxLength;
            return this;
        }

        /** @return the options */
        public PretrainedOptions build() {
            return new PretrainedOptions(this);
        }
    }
}
