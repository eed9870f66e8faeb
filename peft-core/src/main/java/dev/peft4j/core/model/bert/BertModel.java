package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.hooks.HasPeftHooks;
import dev.peft4j.core.model.hooks.InputPrefix;
import dev.peft4j.core.model.hooks.KeyValuePrefix;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.model.hooks.PrefixHost;
import dev.peft4j.core.model.hooks.PrefixKeyValues;
import dev.peft4j.core.model.hooks.PrefixShape;
import dev.peft4j.core.model.hooks.VirtualTokens;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.WeightLoader;
import dev.peft4j.core.nn.StateDictReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.peft4j.core.model.PretrainedAssets;
import dev.peft4j.core.model.PretrainedFiles;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.HfModelWriter;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The BERT encoder, Hugging Face's {@code BertModel}, with its parameter names: {@code
 * embeddings.*}, {@code encoder.layer.N.*} and, optionally, {@code pooler.dense.*}.
 *
 * <pre>{@code
 * try (NDManager manager = NDManager.newBaseManager()) {
 *     BertModel bert = BertModel.load(source, hfConfig, manager);
 *     ParameterStore ps = new ParameterStore(manager, false);
 *     BertModelOutput out = bert.forward(ps, inputIds, attentionMask, null, false);
 * }
 * }</pre>
 *
 * <p>Padded batches are handled by an additive attention mask (0 for real keys, the most negative
 * finite value of the compute type for padding keys), so padding never changes the outputs at real
 * positions. Dropout (hidden and attention) applies only when {@code training} is true, with masks
 * from {@link #setDropoutMasks the model's mask source}: the engine's generator by default, or
 * {@link DropoutMasks#seeded} for reproducible training.
 *
 * <p>Forward code looks children up by name at call time, so adapters injected with {@link
 * #setModule} take effect immediately.
 *
 * <p>PEFT methods that replace no layer use {@link #hooks()}: an input prefix (prompt tuning), a
 * key/value prefix (prefix tuning), residual hooks (bottleneck adapters).
 */
public class BertModel extends Module implements PrefixHost, HasPeftHooks, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BertModel.class);

    private final BertConfig config;
    private DropoutMasks dropoutMasks = DropoutMasks.engine();
    private StateDictReport loadReport;
    private InputPrefix inputPrefix;
    private KeyValuePrefix keyValuePrefix;
    private PretrainedAssets assets;

    /**
     * A model with a pooler (Hugging Face's default), parameters not yet set.
     *
     * @param config the shape
     */
    public BertModel(BertConfig config) {
        this(config, true);
    }

    /**
     * A model whose parameters arrive from a checkpoint or {@link #initialize} (normal with {@code
     * initializer_range} for linear and embedding weights, zero biases, unit LayerNorm, as HF).
     *
     * @param config the shape
     * @param addPoolingLayer whether to add {@code pooler.dense}
     */
    public BertModel(BertConfig config, boolean addPoolingLayer) {
        this.config = Objects.requireNonNull(config, "config");
        registerModule("embeddings", new BertEmbeddings(config));
        registerModule("encoder", new BertEncoder(config));
        if (addPoolingLayer) {
            registerModule("pooler", new BertPooler(config));
        }
        useHfInitializers(this, config.initializerRange());
    }

    /**
     * Loads a Hugging Face model directory: {@code config.json} and safetensors weights (single
     * file or sharded), as {@link #load(TensorSource, HfConfig, NDManager)} describes.
     *
     * @param dir the model directory
     * @param manager owner of the parameter arrays; its device is where they live
     * @return the loaded model
     * @throws IOException when the weights cannot be found or read
     * @throws dev.peft4j.core.model.ConfigException when the config is missing or not a supported
     *     BERT
     * @throws dev.peft4j.core.nn.StateDictException when the weights do not match the config
     */
    public static BertModel load(Path dir, NDManager manager) throws IOException {
        HfConfig hf = HfConfig.read(dir);
        try (TensorSource source = TensorSources.open(dir)) {
            return load(source, hf, manager);
        }
    }

    /**
     * Loads a BERT checkpoint: a plain {@code BertModel}'s names, or a task model's ({@code
     * bert.*}, whose head tensors such as {@code cls.*} and {@code classifier.*} are skipped and
     * logged). The pooler is built when the checkpoint has one. Loading is strict otherwise;
     * buffers ({@code embeddings.position_ids}) are ignored and TensorFlow-era {@code
     * LayerNorm.gamma/beta} names are accepted. Weights are converted to float32.
     *
     * @param source the weights (the caller keeps ownership)
     * @param hfConfig the model's {@code config.json}
     * @param manager owner of the parameter arrays; its device is where they live
     * @return the loaded model; {@link #loadReport()} tells what was loaded
     * @throws dev.peft4j.core.model.ConfigException when the config is not a supported BERT
     * @throws dev.peft4j.core.nn.StateDictException when the weights do not match the config
     */
    public static BertModel load(TensorSource source, HfConfig hfConfig, NDManager manager) {
        return load(source, hfConfig, manager, WeightLoader.FULL_PRECISION);
    }

    /**
     * {@link #load(TensorSource, HfConfig, NDManager)} with another way of placing the weights,
     * such as peft-quant's quantize-on-load.
     *
     * @param source the weights (the caller keeps ownership)
     * @param hfConfig the model's {@code config.json}
     * @param manager owner of the parameter arrays; its device is where they live
     * @param weights how the tensors land in the model
     * @return the loaded model
     */
    public static BertModel load(TensorSource source, HfConfig hfConfig, NDManager manager, WeightLoader weights) {
        BertConfig config = BertConfig.from(hfConfig);
        String prefix = BertCheckpoint.prefix(source);
        BertModel model = new BertModel(config, source.contains(prefix + BertCheckpoint.POOLER));
        List<String> skipped = new ArrayList<>();
        Function<String, String> mapper = name -> {
            if (!name.startsWith(prefix)) {
                skipped.add(name);
                return null;
            }
            return BertCheckpoint.canonical(name.substring(prefix.length()));
        };
        StateDictReport report = weights.load(model, new WeightLoader.Request(source, manager, DataType.FLOAT32,
                mapper, BertCheckpoint::isBuffer, true));
        if (!skipped.isEmpty()) {
            LOG.info("{}: skipped {} tensors that are not part of BertModel: {}", source.location(),
                    skipped.size(), skipped.size() > 10 ? skipped.subList(0, 10) + " …" : skipped);
        }
        model.loadReport = report;
        model.assets = PretrainedAssets.configOnly(hfConfig);
        LOG.debug("loaded BERT from {}: {}", source.location(), report.summary());
        return model;
    }

    /**
     * Loads an encoder with its tokenizer, owning its arrays: close it to free them.
     *
     * <pre>{@code
     * try (BertModel encoder = BertModel.fromPretrained("builtin:all-minilm-l6-v2")) {
     *     float[][] vectors = encoder.embed(List.of("a cup of coffee", "a mug of tea"));
     * }
     * }</pre>
     *
     * @param pathOrBuiltinId a built-in id ({@code builtin:all-minilm-l6-v2}) or a Hugging Face
     *     model directory ({@code config.json}, safetensors weights, {@code tokenizer.json})
     * @return the encoder
     * @throws IOException when files are missing or unreadable
     */
    public static BertModel fromPretrained(String pathOrBuiltinId) throws IOException {
        return fromPretrained(pathOrBuiltinId, PretrainedOptions.defaults());
    }

    /**
     * {@link #fromPretrained(String)} with options: device, weight loader (e.g. 4-bit), maximum
     * tokens per text (default 256 for the built-in MiniLM, else {@code max_position_embeddings}).
     *
     * @param pathOrBuiltinId a built-in id or a model directory
     * @param options the loading options
     * @return the encoder, owning its arrays
     * @throws IOException when files are missing or unreadable
     */
    public static BertModel fromPretrained(String pathOrBuiltinId, PretrainedOptions options) throws IOException {
        return BertPretrained.encoder(PretrainedFiles.resolve(pathOrBuiltinId), options);
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
     * Sentence embeddings as the CLI's {@code embed} computes them by default: the masked mean of
     * the last hidden state over real tokens, not normalized, 32 texts per pass.
     *
     * @param texts the texts (empty gives none)
     * @return one {@code hidden_size} vector per text
     * @throws IllegalStateException when the model has no tokenizer
     */
    public float[][] embed(List<String> texts) {
        return embed(texts, Pooling.MEAN, false);
    }

    /**
     * Sentence embeddings with a chosen pooling ({@link Pooling#MEAN} or {@link Pooling#CLS}; {@link
     * Pooling#POOLER} needs a pooler), L2-normalized when asked (as sentence-transformers'
     * all-MiniLM-L6-v2 pipeline does).
     *
     * @param texts the texts
     * @param pooling how the token states become one vector
     * @param normalize whether to divide each vector by its L2 norm
     * @return one vector per text
     * @throws IllegalStateException when the model has no tokenizer
     */
    public float[][] embed(List<String> texts, Pooling pooling, boolean normalize) {
        TextTokenizer tok = tokenizerFor("embed");
        return BertInference.embed(this, HfModelWriter.workManager(this, assets), tok, texts, pooling, normalize);
    }

    private TextTokenizer tokenizerFor(String what) {
        if (assets == null) {
            throw new IllegalStateException(what + " needs a tokenizer: load the model with fromPretrained");
        }
        return assets.requireTokenizer(what);
    }

    /**
     * Saves a Hugging Face model directory, atomically: {@code config.json} (the loaded one with
     * {@code architectures: [BertModel]}, {@code torch_dtype: float32}), {@code model.safetensors}
     * (float32, Hugging Face names) and the tokenizer files it was loaded with. Adapters must be
     * merged first.
     *
     * @param dir the directory to produce: absent or empty
     * @throws java.nio.file.FileAlreadyExistsException when {@code dir} is a non-empty directory
     * @throws IOException when writing fails (nothing is left at {@code dir})
     * @throws IllegalStateException when the model was built in code or still has adapter or
     *     4-bit layers
     */
    public void savePretrained(Path dir) throws IOException {
        com.fasterxml.jackson.databind.node.ObjectNode config = HfModelWriter.baseConfig(this, assets);
        config.putArray("architectures").add("BertModel");
        for (String k : List.of("id2label", "label2id", "num_labels", Pooling.CONFIG_KEY)) {
            config.remove(k);
        }
        HfModelWriter.save(this, config, assets.tokenizerFiles(), dir);
    }

    /** Frees the tokenizer and, for a model from {@link #fromPretrained}, all its arrays. */
    @Override
    public void close() {
        if (assets != null) {
            assets.close();
        }
    }

    /** @return the shape this model was built with */
    public BertConfig config() {
        return config;
    }

    /** @return whether the model has {@code pooler.dense} */
    public boolean hasPooler() {
        return children().containsKey("pooler");
    }

    /** @return what loading found, or {@code null} when the model was built in code */
    public StateDictReport loadReport() {
        return loadReport;
    }

    /** @return where dropout masks come from in training passes */
    public DropoutMasks dropoutMasks() {
        return dropoutMasks;
    }

    /**
     * Sets where dropout masks come from in training passes, e.g. {@code
     * DropoutMasks.seeded(42)} for a reproducible run. Inference ignores it.
     *
     * @param masks the mask source
     */
    public void setDropoutMasks(DropoutMasks masks) {
        this.dropoutMasks = Objects.requireNonNull(masks, "masks");
    }

    /**
     * Runs the encoder.
     *
     * @param ps the parameter store
     * @param inputIds token ids {@code [B, T]} (any integer type)
     * @param attentionMask {@code [B, T]}, 1 for real tokens and 0 for padding, or {@code null}
     *     when nothing is padded
     * @param tokenTypeIds segment ids {@code [B, T]}, or {@code null} for all zeros
     * @param training whether this is a training pass (enables dropout)
     * @return the last hidden state {@code [B, T, H]} and, with a pooler, the pooled output
     *     {@code [B, H]}; both owned by {@code inputIds}' manager
     */
    public BertModelOutput forward(
            ParameterStore ps, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, boolean training) {
        if (attentionMask != null && !attentionMask.getShape().equals(inputIds.getShape())) {
            throw new IllegalArgumentException("attention mask " + attentionMask.getShape()
                    + " does not match input ids " + inputIds.getShape());
        }
        if (tokenTypeIds != null && !tokenTypeIds.getShape().equals(inputIds.getShape())) {
            throw new IllegalArgumentException("token type ids " + tokenTypeIds.getShape()
                    + " do not match input ids " + inputIds.getShape());
        }
        if (inputPrefix != null || keyValuePrefix != null) {
            return forwardWithPrefix(ps, inputIds, attentionMask, tokenTypeIds, training);
        }
        NDArray h = ((BertEmbeddings) child("embeddings")).forward(ps, inputIds, tokenTypeIds, training, dropoutMasks);
        NDArray additive = additiveMask(attentionMask, h.getDataType());
        NDArray last = ((BertEncoder) child("encoder")).forward(ps, h, additive, null, training, dropoutMasks,
                embeddingsTrain());
        NDArray pooled = hasPooler() ? ((BertPooler) child("pooler")).forward(ps, last, training) : null;
        return new BertModelOutput(last, pooled);
    }

    /**
     * PEFT's prompt learning: with an {@link InputPrefix} the output covers {@code n + T} positions
     * (virtual tokens first; the pooler reads the first virtual token, as in PEFT); with a {@link
     * KeyValuePrefix} positions start at {@code n} and every layer attends to the prefix first.
     */
    private BertModelOutput forwardWithPrefix(
            ParameterStore ps, NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, boolean training) {
        if (inputPrefix != null && keyValuePrefix != null) {
            throw new IllegalStateException("both an input prefix and a key/value prefix are installed;"
                    + " PEFT runs one prompt-learning adapter at a time");
        }
        long b = inputIds.getShape().get(0);
        NDManager work = inputIds.getManager();
        NDArray prompt = null;
        PrefixKeyValues kv = null;
        long virtual;
        if (inputPrefix != null) {
            prompt = inputPrefix.embeddings(ps, b, work, training);
            Shape want = new Shape(b, inputPrefix.numVirtualTokens(), config.hiddenSize());
            if (!prompt.getShape().equals(want)) {
                throw new IllegalArgumentException("input prefix gave " + prompt.getShape() + ", expected " + want
                        + " (batch, num_virtual_tokens, hidden_size)");
            }
            virtual = want.get(1);
        } else {
            PrefixShape shape = prefixShape();
            kv = keyValuePrefix.keyValues(ps, b, work, training)
                    .check(shape.numLayers(), b, shape.kvHeads(), shape.headDim());
            virtual = kv.length();
        }
        DataType type = ((BertEmbeddings) child("embeddings")).child("word_embeddings").parameter("weight")
                .getArray().getDataType();
        if (prompt != null && prompt.getDataType() != type) {
            prompt = prompt.toType(type, false);
        }
        NDArray h = ((BertEmbeddings) child("embeddings"))
                .forward(ps, inputIds, tokenTypeIds, prompt, kv == null ? 0 : virtual, training, dropoutMasks);
        NDArray additive = additiveMask(VirtualTokens.extendMask(attentionMask, virtual), h.getDataType());
        NDArray last = ((BertEncoder) child("encoder"))
                .forward(ps, h, additive, kv == null ? null : kv.toType(h.getDataType()), training, dropoutMasks,
                        prompt != null || embeddingsTrain());
        NDArray pooled = hasPooler() ? ((BertPooler) child("pooler")).forward(ps, last, training) : null;
        return new BertModelOutput(last, pooled);
    }

    /** @return whether a parameter of {@code embeddings} trains (the encoder's input then has a graph) */
    private boolean embeddingsTrain() {
        return child("embeddings").namedParameters().values().stream().anyMatch(p -> p.requiresGradient());
    }

    /**
     * The mask of the positions {@link #forward} returns: the attention mask with the installed
     * input prefix's {@code n} ones in front (PEFT's extended mask), else the mask itself. Pool
     * outputs with it (mean pooling then averages the virtual tokens too).
     *
     * @param attentionMask {@code [B, T]}, or {@code null}
     * @return {@code [B, n + T]}, the mask itself, or {@code null}
     */
    public NDArray outputMask(NDArray attentionMask) {
        return inputPrefix == null ? attentionMask
                : VirtualTokens.extendMask(attentionMask, inputPrefix.numVirtualTokens());
    }

    @Override
    public InputPrefix inputPrefix() {
        return inputPrefix;
    }

    @Override
    public void setInputPrefix(InputPrefix prefix) {
        this.inputPrefix = prefix;
    }

    @Override
    public KeyValuePrefix keyValuePrefix() {
        return keyValuePrefix;
    }

    @Override
    public void setKeyValuePrefix(KeyValuePrefix prefix) {
        this.keyValuePrefix = prefix;
    }

    /** @return BERT's prefix shapes: key/value heads are the attention heads */
    @Override
    public PrefixShape prefixShape() {
        return new PrefixShape(config.numHiddenLayers(), config.numAttentionHeads(), config.headDim(),
                config.hiddenSize());
    }

    @Override
    public PeftHooks hooks() {
        return PeftHooks.of(this);
    }

    /**
     * Sentence embeddings as sentence-transformers computes them: the masked mean of the last
     * hidden state (inference; not normalized).
     *
     * @param ps the parameter store
     * @param inputIds token ids {@code [B, T]}
     * @param attentionMask {@code [B, T]}, or {@code null} when nothing is padded
     * @return {@code [B, H]}
     */
    public NDArray embed(ParameterStore ps, NDArray inputIds, NDArray attentionMask) {
        return Pooling.MEAN.pool(forward(ps, inputIds, attentionMask, null, false), outputMask(attentionMask));
    }

    /**
     * Turns a {@code [B, T]} 1/0 attention mask into the additive {@code [B, 1, 1, T]} mask
     * added to attention scores: 0 for real keys, the most negative finite value of {@code
     * dataType} for padding (as Hugging Face does). A fully padded row then attends uniformly
     * instead of producing NaN.
     *
     * @param attentionMask the 1/0 mask, or {@code null}
     * @param dataType the compute type
     * @return the additive mask, or {@code null} when there is no mask or no padding
     */
    public static NDArray additiveMask(NDArray attentionMask, DataType dataType) {
        if (attentionMask == null) {
            return null;
        }
        NDArray m = attentionMask.toType(dataType, false);
        if (m.eq(0).any().getBoolean()) {
            long b = m.getShape().get(0);
            long t = m.getShape().get(1);
            double max = dataType == DataType.FLOAT16 ? 65504.0 : dataType == DataType.FLOAT64
                    ? Double.MAX_VALUE : Float.MAX_VALUE;
            return m.sub(1).mul(max).reshape(b, 1, 1, t); // (mask - 1)·max: +0 or -max
        }
        return null;
    }

    /**
     * Inputs {@code [input_ids, attention_mask?, token_type_ids?]}; outputs {@code
     * [last_hidden_state, pooled_output?]}.
     */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        BertModelOutput out = forward(ps, inputs.get(0), inputs.size() > 1 ? inputs.get(1) : null,
                inputs.size() > 2 ? inputs.get(2) : null, training);
        return out.pooledOutput() == null
                ? new NDList(out.lastHiddenState())
                : new NDList(out.lastHiddenState(), out.pooledOutput());
    }

    /** Hugging Face's {@code _init_weights}: N(0, range) for linear and embedding weights. */
    static void useHfInitializers(Module root, double range) {
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            Module m = e.getValue();
            if (m instanceof Linear || m instanceof Embedding) {
                m.parameter("weight").setInitializer(new NormalInitializer((float) range));
            }
        }
    }
}
