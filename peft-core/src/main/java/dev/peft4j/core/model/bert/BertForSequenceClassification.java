package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.hooks.HasPeftHooks;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.SeededNormalInitializer;
import dev.peft4j.core.nn.StateDictException;
import dev.peft4j.core.nn.WeightLoader;
import dev.peft4j.core.nn.StateDictReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.peft4j.core.model.HfModelWriter;
import dev.peft4j.core.model.PretrainedAssets;
import dev.peft4j.core.model.PretrainedFiles;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A sequence classifier over BERT, Hugging Face's {@code BertForSequenceClassification}: children
 * {@code bert} ({@link BertModel}) and {@code classifier} ({@code Linear(hidden, num_labels)}), so
 * parameter names are {@code bert.embeddings.…} and {@code classifier.weight} as in HF
 * checkpoints. The sequence vector is chosen by {@link Pooling}: the pooler output (HF's
 * default), the raw {@code [CLS]} state, or the masked mean; dropout ({@code classifier_dropout},
 * else {@code hidden_dropout_prob}) precedes the classifier in training.
 *
 * <p>{@link #loader()} builds one from a classifier checkpoint or from a base model (whose head is
 * then freshly initialized and listed in {@link #newlyInitialized()}).
 */
public class BertForSequenceClassification extends Module implements HasPeftHooks, AutoCloseable {

    /** The seed of a fresh head's initialization when the loader is given none. */
    public static final long DEFAULT_SEED = 42;

    private static final Logger LOG = LoggerFactory.getLogger(BertForSequenceClassification.class);

    private final BertConfig config;
    private final Pooling pooling;
    private StateDictReport loadReport;
    private PretrainedAssets assets;

    /**
     * A classifier whose parameters arrive from a checkpoint or {@link #initialize}. The encoder
     * has a pooler only with {@link Pooling#POOLER}.
     *
     * @param config the shape and labels
     * @param pooling how the sequence vector is formed
     */
    public BertForSequenceClassification(BertConfig config, Pooling pooling) {
        this.config = Objects.requireNonNull(config, "config");
        this.pooling = Objects.requireNonNull(pooling, "pooling");
        registerModule("bert", new BertModel(config, pooling == Pooling.POOLER));
        registerModule("classifier", new Linear(config.hiddenSize(), config.numLabels(), true));
        BertModel.useHfInitializers(this, config.initializerRange());
    }

    /** @return a loader (builder) for checkpoints */
    public static Loader loader() {
        return new Loader();
    }

    /**
     * Loads a classifier with its tokenizer, owning its arrays: close it to free them. A
     * classifier directory (for instance one written by {@link #savePretrained}) loads whole, with
     * its labels and pooling; an encoder (the built-in MiniLM, a base BERT) gets a fresh head, to
     * be trained.
     *
     * <pre>{@code
     * try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(dir.toString())) {
     *     for (Prediction p : model.predict(List.of("great coffee", "stale and bitter"))) {
     *         System.out.println(p.label() + " " + p.confidence());
     *     }
     * }
     * }</pre>
     *
     * @param pathOrBuiltinId a built-in id or a Hugging Face model directory
     * @return the classifier
     * @throws IOException when files are missing or unreadable
     */
    public static BertForSequenceClassification fromPretrained(String pathOrBuiltinId) throws IOException {
        return fromPretrained(pathOrBuiltinId, PretrainedOptions.defaults());
    }

    /**
     * {@link #fromPretrained(String)} with options: labels or their number, pooling, device,
     * weight loader (e.g. 4-bit), maximum tokens per text.
     *
     * @param pathOrBuiltinId a built-in id or a model directory
     * @param options the loading options
     * @return the classifier, owning its arrays
     * @throws IOException when files are missing or unreadable
     */
    public static BertForSequenceClassification fromPretrained(String pathOrBuiltinId, PretrainedOptions options)
            throws IOException {
        return BertPretrained.classifier(PretrainedFiles.resolve(pathOrBuiltinId), options);
    }

    /** @return the tokenizer, when the model was loaded with one ({@link #fromPretrained}) */
    public Optional<TextTokenizer> tokenizer() {
        return assets == null ? Optional.empty() : assets.tokenizer();
    }

    /** @return the config, tokenizer and owned manager, or null when built in code */
    public PretrainedAssets assets() {
        return assets;
    }

    void setAssets(PretrainedAssets assets) {
        this.assets = assets;
    }

    /**
     * Classifies texts, 32 per forward pass (inference: no dropout).
     *
     * @param texts the texts (empty gives none)
     * @return one prediction per text: the arg-max label and every label's softmax probability
     * @throws IllegalStateException when the model has no tokenizer
     */
    public List<Prediction> predict(List<String> texts) {
        if (assets == null) {
            throw new IllegalStateException("predict needs a tokenizer: load the model with fromPretrained");
        }
        TextTokenizer tok = assets.requireTokenizer("predict");
        return BertInference.predict(this, HfModelWriter.workManager(this, assets), tok, texts);
    }

    /**
     * Saves a Hugging Face model directory, atomically: {@code config.json} ({@link
     * ClassifierConfigJson}: architectures, {@code id2label}/{@code label2id} from {@link
     * #labels()}, {@code peft4j_pooling}, {@code torch_dtype: float32}), {@code model.safetensors}
     * ({@code bert.*}, {@code classifier.*}, float32) and the tokenizer files it was loaded with.
     * It loads back with {@link #fromPretrained} and with transformers. Adapters must be merged
     * first.
     *
     * @param dir the directory to produce: absent or empty
     * @throws java.nio.file.FileAlreadyExistsException when {@code dir} is a non-empty directory
     * @throws IOException when writing fails (nothing is left at {@code dir})
     * @throws IllegalStateException when the model was built in code or still has adapter or
     *     4-bit layers
     */
    public void savePretrained(Path dir) throws IOException {
        HfModelWriter.save(this, ClassifierConfigJson.of(HfModelWriter.baseConfig(this, assets), labels(), pooling),
                assets.tokenizerFiles(), dir);
    }

    /** Frees the tokenizer and, for a model from {@link #fromPretrained}, all its arrays. */
    @Override
    public void close() {
        if (assets != null) {
            assets.close();
        }
    }

    /** @return the shape and labels */
    public BertConfig config() {
        return config;
    }

    /** @return how the sequence vector is formed */
    public Pooling pooling() {
        return pooling;
    }

    /** @return the PEFT hooks of the encoder (paths start with {@code bert.}) */
    @Override
    public PeftHooks hooks() {
        return PeftHooks.of(this);
    }

    /** @return label names by class index */
    public List<String> labels() {
        return config.labels();
    }

    /** @return the encoder (the current {@code bert} child) */
    public BertModel bert() {
        return (BertModel) child("bert");
    }

    /** @return what loading found, or {@code null} when built in code */
    public StateDictReport loadReport() {
        return loadReport;
    }

    /**
     * @return parameters the checkpoint lacked and that were freshly initialized (e.g. {@code
     *     classifier.weight}, {@code classifier.bias} when built from a base model); empty when
     *     built in code or fully loaded
     */
    public List<String> newlyInitialized() {
        return loadReport == null ? List.of() : loadReport.missing();
    }

    /**
     * Sets the dropout mask source of the whole model (see {@link BertModel#setDropoutMasks}).
     *
     * @param masks the mask source
     */
    public void setDropoutMasks(DropoutMasks masks) {
        bert().setDropoutMasks(masks);
    }

    /**
     * @param ps the parameter store
     * @param inputIds token ids {@code [B, T]}
     * @param attentionMask {@code [B, T]} 1/0, or {@code null} when nothing is padded
     * @param tokenTypeIds {@code [B, T]}, or {@code null} for zeros
     * @param training whether this is a training pass (enables dropout)
     * @return logits {@code [B, num_labels]}
     */
    public NDArray forward(
            ParameterStore ps, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, boolean training) {
        BertModel bert = bert();
        BertModelOutput out = bert.forward(ps, inputIds, attentionMask, tokenTypeIds, training);
        NDArray pooled = pooling.pool(out, bert.outputMask(attentionMask));
        pooled = DropoutMasks.dropout(pooled, (float) config.classifierDropout(), training, bert.dropoutMasks());
        return ((LinearLike) child("classifier")).forward(ps, pooled, training);
    }

    /** Inputs {@code [input_ids, attention_mask?, token_type_ids?]}; output {@code [logits]}. */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.get(0), inputs.size() > 1 ? inputs.get(1) : null,
                inputs.size() > 2 ? inputs.get(2) : null, training));
    }

    /**
     * Builds a {@link BertForSequenceClassification} from a checkpoint: {@code setX} required,
     * {@code optX} optional, checked in {@link #load()}.
     *
     * <p>A classifier checkpoint ({@code bert.*}, {@code classifier.*}) loads fully. A base-model
     * checkpoint (plain {@code BertModel} names, no {@code bert.} prefix) is mapped under {@code
     * bert.}, and the head ({@code classifier.*}, and {@code bert.pooler.*} with {@link
     * Pooling#POOLER} when the checkpoint has no pooler) is freshly initialized as HF does
     * (normal with {@code initializer_range}, zero bias), logged, and listed in {@link
     * #newlyInitialized()}. The fresh weights are drawn on the host from {@link #optSeed the seed}
     * (a {@link SeededNormalInitializer} per parameter), so the same seed gives the same head in
     * every process. Anything else missing, unexpected or mismatched is a {@link
     * StateDictException}. A pooler in the checkpoint is skipped with {@link Pooling#CLS} and
     * {@link Pooling#MEAN}, which do not use it.
     */
    public static final class Loader {
        private TensorSource source;
        private HfConfig hfConfig;
        private Path dir;
        private NDManager manager;
        private Pooling pooling;
        private List<String> labels;
        private WeightLoader weights = WeightLoader.FULL_PRECISION;
        private long seed = DEFAULT_SEED;

        private Loader() {}

        /**
         * @param source the weights (the caller keeps ownership)
         * @param hfConfig the model's {@code config.json}
         * @return this loader; this or {@link #setModelDir} is required
         */
        public Loader setCheckpoint(TensorSource source, HfConfig hfConfig) {
            this.source = source;
            this.hfConfig = hfConfig;
            this.dir = null;
            return this;
        }

        /**
         * @param dir a Hugging Face model directory ({@code config.json} + safetensors)
         * @return this loader; this or {@link #setCheckpoint} is required
         */
        public Loader setModelDir(Path dir) {
            this.dir = dir;
            this.source = null;
            this.hfConfig = null;
            return this;
        }

        /**
         * @param manager owner of the parameter arrays (required)
         * @return this loader
         */
        public Loader setManager(NDManager manager) {
            this.manager = manager;
            return this;
        }

        /**
         * @param pooling how the sequence vector is formed (default: the config's {@link
         *     Pooling#CONFIG_KEY}, else {@link Pooling#POOLER})
         * @return this loader
         */
        public Loader optPooling(Pooling pooling) {
            this.pooling = Objects.requireNonNull(pooling, "BertForSequenceClassification.Loader: pooling is null");
            return this;
        }

        /**
         * @param labels label names by class index (default: the config's {@code id2label}, or
         *     {@code num_labels} / two {@code LABEL_i})
         * @return this loader
         */
        public Loader optLabels(List<String> labels) {
            this.labels = List.copyOf(labels);
            return this;
        }

        /**
         * @param weights how the tensors land in the model (default {@link
         *     WeightLoader#FULL_PRECISION}; peft-quant's quantizing loader quantizes on load)
         * @return this loader
         */
        public Loader optWeightLoader(WeightLoader weights) {
            this.weights = Objects.requireNonNull(weights, "weights");
            return this;
        }

        /**
         * @param seed the seed of a fresh head's initialization (default {@link #DEFAULT_SEED})
         * @return this loader
         */
        public Loader optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @return the classifier
         * @throws dev.peft4j.core.model.ConfigException when the config is missing or not a
         *     supported BERT
         * @throws StateDictException when the weights do not fit
         * @throws UncheckedIOException when the model directory's weights cannot be read
         */
        public BertForSequenceClassification load() {
            if (dir == null) {
                Objects.requireNonNull(source,
                        "BertForSequenceClassification.Loader: a checkpoint is required (setCheckpoint or setModelDir)");
                Objects.requireNonNull(hfConfig, "BertForSequenceClassification.Loader: config is null");
            }
            Objects.requireNonNull(manager, "BertForSequenceClassification.Loader: manager is required (setManager)");
            if (dir == null) {
                return load(source, hfConfig);
            }
            HfConfig hf = HfConfig.read(dir);
            try (TensorSource fromDir = TensorSources.open(dir)) {
                return load(fromDir, hf);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the weights in " + dir + ": " + e.getMessage(), e);
            }
        }

        private BertForSequenceClassification load(TensorSource source, HfConfig hfConfig) {
            BertConfig config = BertConfig.from(hfConfig);
            if (labels != null) {
                config = config.withLabels(labels);
            }
            String prefix = BertCheckpoint.prefix(source);
            Pooling pooling = this.pooling != null ? this.pooling : Pooling.fromConfig(hfConfig);
            boolean usePooler = pooling == Pooling.POOLER;
            BertForSequenceClassification model = new BertForSequenceClassification(config, pooling);
            Function<String, String> mapper = name -> {
                if (name.startsWith("classifier.") && !prefix.isEmpty()) {
                    return name;
                }
                if (!name.startsWith(prefix)) {
                    return null; // another head, e.g. cls.* of a pre-training checkpoint
                }
                String path = BertCheckpoint.canonical(name.substring(prefix.length()));
                return !usePooler && path.startsWith("pooler.") ? null : "bert." + path;
            };
            Set<String> fresh = usePooler
                    ? Set.of("classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias")
                    : Set.of("classifier.weight", "classifier.bias");
            // everything but the fresh head must come from the checkpoint; checked before anything loads
            StateDictReport report = weights.load(model, new WeightLoader.Request(source, manager,
                    DataType.FLOAT32, mapper, BertCheckpoint::isBuffer, true, fresh::contains));
            List<String> skipped = source.names().stream()
                    .filter(n -> !BertCheckpoint.isBuffer(n) && mapper.apply(n) == null).toList();
            if (!skipped.isEmpty()) {
                LOG.info("{}: skipped {} tensors not used by this classifier: {}", source.location(),
                        skipped.size(), skipped.size() > 10 ? skipped.subList(0, 10) + " …" : skipped);
            }
            if (!report.missing().isEmpty()) {
                Map<String, Parameter> params = model.namedParameters();
                for (String name : report.missing()) {
                    if (name.endsWith(".weight")) {
                        params.get(name).setInitializer(SeededNormalInitializer.forParameter(
                                config.initializerRange(), seed, name));
                    }
                }
                model.initialize(manager, DataType.FLOAT32);
                LOG.warn("{}: freshly initialized {} (train them before use)", source.location(), report.missing());
            }
            model.loadReport = report;
            model.assets = PretrainedAssets.configOnly(hfConfig);
            return model;
        }
    }
}
