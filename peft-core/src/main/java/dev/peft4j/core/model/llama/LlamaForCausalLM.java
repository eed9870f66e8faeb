package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.hooks.HasPeftHooks;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.WeightLoader;
import dev.peft4j.core.nn.StateDictReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.HfModelWriter;
import dev.peft4j.core.model.PretrainedAssets;
import dev.peft4j.core.model.PretrainedFiles;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A Llama-family causal language model (Llama, Qwen2, Mistral) with Hugging Face's parameter
 * names: {@code model.embed_tokens}, {@code model.layers.N.self_attn.{q,k,v,o}_proj}, {@code
 * model.layers.N.mlp.{gate,up,down}_proj}, {@code model.layers.N.{input,post_attention}_layernorm},
 * {@code model.norm} and {@code lm_head}. With tied word embeddings {@code lm_head.weight} is {@code
 * model.embed_tokens.weight} (listed once, under the embedding's name).
 *
 * <pre>{@code
 * try (NDManager manager = NDManager.newBaseManager()) {
 *     LlamaForCausalLM lm = LlamaForCausalLM.load(dir, manager); // config.json + safetensors
 *     ParameterStore ps = new ParameterStore(manager, false);
 *     NDArray logits = lm.forward(ps, manager.create(new long[][] {{1, 5, 77}}), null, null, null, false)
 *             .logits(); // [1, 3, vocab]
 * }
 * }</pre>
 *
 * <p>Loading converts F16/BF16/F32 checkpoints to the requested type (float32 by default, which is
 * what CPUs should compute in; float16 is meant for CUDA).
 */
public class LlamaForCausalLM extends Module implements HasPeftHooks, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LlamaForCausalLM.class);

    /** Checkpoint entries that are buffers, not parameters, and are skipped when loading. */
    public static final Predicate<String> IGNORED = name -> name.endsWith("rotary_emb.inv_freq");

    private final LlamaConfig config;
    private PretrainedAssets assets;

    /**
     * Builds the module tree; parameters have no arrays until loaded or {@link #initialize}d.
     *
     * @param config the model configuration
     */
    public LlamaForCausalLM(LlamaConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        LlamaModel model = registerModule("model", new LlamaModel(config));
        Embedding embed = (Embedding) model.child("embed_tokens");
        registerModule("lm_head", config.tieWordEmbeddings()
                ? new TiedHead(embed)
                : new Linear(config.hiddenSize(), config.vocabSize(), false));
    }

    /**
     * Loads a model directory ({@code config.json} plus {@code model.safetensors} or a sharded
     * checkpoint with {@code model.safetensors.index.json}) as float32.
     *
     * @param dir the model directory
     * @param manager owner of the parameters; its device is where they live
     * @return the loaded model
     * @throws IOException when the weights cannot be read
     * @throws dev.peft4j.core.model.ConfigException when the configuration is missing or unsupported
     * @throws dev.peft4j.core.nn.StateDictException when the weights do not match the configuration
     */
    public static LlamaForCausalLM load(Path dir, NDManager manager) throws IOException {
        return load(dir, manager, DataType.FLOAT32);
    }

    /**
     * Loads a model directory, converting F32/F16/BF16 weights to {@code dataType}.
     *
     * @param dir the model directory
     * @param manager owner of the parameters; its device is where they live
     * @param dataType {@link DataType#FLOAT32} (for CPUs) or {@link DataType#FLOAT16} (for CUDA)
     * @return the loaded model
     * @throws IOException when the weights cannot be read
     * @throws dev.peft4j.core.model.ConfigException when the configuration is missing or unsupported
     * @throws dev.peft4j.core.nn.StateDictException when the weights do not match the configuration
     */
    public static LlamaForCausalLM load(Path dir, NDManager manager, DataType dataType) throws IOException {
        HfConfig hf = HfConfig.read(dir);
        LlamaConfig config = LlamaConfig.from(hf);
        try (TensorSource source = TensorSources.open(dir)) {
            LlamaForCausalLM lm = load(config, source, manager, dataType);
            lm.assets = PretrainedAssets.configOnly(hf);
            return lm;
        }
    }

    /**
     * Loads a model from a configuration and tensors (strict: every parameter must be present, no
     * tensor may be left over except rotary buffers, shapes must match).
     *
     * @param config the configuration
     * @param source the tensors, by Hugging Face name
     * @param manager owner of the parameters; its device is where they live
     * @param dataType the parameters' floating type
     * @return the loaded model
     * @throws dev.peft4j.core.nn.StateDictException listing every mismatch
     */
    public static LlamaForCausalLM load(
            LlamaConfig config, TensorSource source, NDManager manager, DataType dataType) {
        return load(config, source, manager, dataType, WeightLoader.FULL_PRECISION);
    }

    /**
     * {@link #load(LlamaConfig, TensorSource, NDManager, DataType)} with another way of placing
     * the weights, such as peft-quant's quantize-on-load.
     *
     * @param config the configuration
     * @param source the tensors, by Hugging Face name
     * @param manager owner of the parameters; its device is where they live
     * @param dataType the full-precision parameters' floating type
     * @param weights how the tensors land in the model
     * @return the loaded model
     * @throws dev.peft4j.core.nn.StateDictException listing every mismatch
     */
    public static LlamaForCausalLM load(LlamaConfig config, TensorSource source, NDManager manager,
            DataType dataType, WeightLoader weights) {
        if (dataType == DataType.FLOAT16 && !manager.getDevice().isGpu()) {
            LOG.warn("loading {} as float16 on {}: half-precision matmul is very slow on CPU;"
                    + " use float32 there", config.source(), manager.getDevice());
        }
        LlamaForCausalLM lm = new LlamaForCausalLM(config);
        StateDictReport report = weights.load(lm, new WeightLoader.Request(source, manager, dataType,
                Function.identity(), IGNORED, true));
        LOG.debug("loaded {} from {}: {}", config, source.location(), report.summary());
        return lm;
    }

    /**
     * Loads a Llama, Qwen2 or Mistral directory with its tokenizer (when it has {@code
     * tokenizer.json}), as float32, owning its arrays: close it to free them. A directory saved
     * 4-bit loads as saved when peft-quant is on the class path.
     *
     * <pre>{@code
     * try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(dir.toString())) {
     *     List<GenerationResult> out = lm.generateIds(List.of(new long[] {1, 5, 77}, new long[] {1, 9}),
     *             GenerationConfig.builder().setMaxNewTokens(8).build());
     * }
     * }</pre>
     *
     * @param path a Hugging Face model directory
     * @return the model
     * @throws IOException when files are missing or unreadable
     */
    public static LlamaForCausalLM fromPretrained(String path) throws IOException {
        return fromPretrained(path, PretrainedOptions.defaults());
    }

    /**
     * {@link #fromPretrained(String)} with options: device, weight loader (e.g. peft-quant's
     * {@code QuantizedLoader.quantizing(config)} for QLoRA's quantize-on-load), maximum prompt
     * tokens (default {@code max_position_embeddings}).
     *
     * @param path a Hugging Face model directory
     * @param options the loading options
     * @return the model, owning its arrays
     * @throws IOException when files are missing or unreadable
     */
    public static LlamaForCausalLM fromPretrained(String path, PretrainedOptions options) throws IOException {
        PretrainedFiles files = PretrainedFiles.resolve(path);
        NDManager owner = options.device() == null
                ? NDManager.newBaseManager() : NDManager.newBaseManager(options.device());
        TextTokenizer tok = null;
        try {
            HfConfig hf = files.config();
            LlamaConfig config = LlamaConfig.from(hf);
            LlamaForCausalLM lm;
            try (TensorSource source = files.openWeights()) {
                lm = load(config, source, owner, DataType.FLOAT32, options.weightLoader(hf));
            }
            int max = config.maxPositionEmbeddings();
            tok = files.tokenizer(files.maxLength(options.maxLength(), max, max), false).orElse(null);
            lm.assets = new PretrainedAssets(hf, files.tokenizerFiles(), tok, owner);
            return lm;
        } catch (IOException | RuntimeException | Error e) {
            if (tok != null) {
                tok.close();
            }
            owner.close();
            throw e;
        }
    }

    /** @return the tokenizer, when the model was loaded with one ({@link #fromPretrained}) */
    public Optional<TextTokenizer> tokenizer() {
        return assets == null ? Optional.empty() : assets.tokenizer();
    }

    /** @return the config, tokenizer and owned manager, or null when built in code */
    public PretrainedAssets assets() {
        return assets;
    }

    /**
     * Generates for a batch of token-id prompts at once ({@link BatchGenerator}: left padding,
     * per-row stopping, 32 prompts per pass).
     *
     * @param prompts token ids per prompt
     * @param generation how to choose tokens and when to stop
     * @return per prompt, the generated ids (prompt excluded) and why it stopped
     */
    public List<GenerationResult> generateIds(List<long[]> prompts, GenerationConfig generation) {
        return new BatchGenerator(this).generate(HfModelWriter.workManager(this, assets), prompts, generation);
    }

    /**
     * Text in, text out: each prompt is tokenized (with the tokenizer's special tokens, such as
     * a beginning-of-sequence token), the batch generated as {@link #generateIds}, and each row's
     * new tokens decoded without special tokens.
     *
     * <pre>{@code
     * List<String> answers = lm.generate(List.of("The capital of France is", "1, 2, 3,"),
     *         GenerationConfig.builder().setMaxNewTokens(16).build());
     * }</pre>
     *
     * @param prompts the prompts
     * @param generation how to choose tokens and when to stop
     * @return the generated text per prompt (prompt excluded)
     * @throws IllegalStateException when the model has no tokenizer (use {@link #generateIds})
     * @throws IllegalArgumentException when a prompt has more tokens than the maximum length
     */
    public List<String> generate(List<String> prompts, GenerationConfig generation) {
        if (assets == null || assets.tokenizer().isEmpty()) {
            throw new IllegalStateException((assets == null ? config.source() : assets.config().source())
                    + ": generate(texts) needs a tokenizer and the model has none (no tokenizer.json);"
                    + " use generateIds");
        }
        TextTokenizer tok = assets.tokenizer().get();
        List<long[]> ids = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            ids.add(tok.encode(p).ids());
        }
        List<String> out = new ArrayList<>(prompts.size());
        for (GenerationResult r : generateIds(ids, generation)) {
            out.add(tok.decode(r.tokens(), true));
        }
        return out;
    }

    /**
     * Saves a Hugging Face model directory, atomically: {@code config.json} (the loaded one, no
     * {@code quantization_config}, {@code torch_dtype: float32}), {@code model.safetensors} (float32,
     * Hugging Face names; a tied {@code lm_head} once, as the embedding) and the tokenizer and
     * generation files it was loaded with. Adapters must be merged and 4-bit layers dequantized
     * first.
     *
     * @param dir the directory to produce: absent or empty
     * @throws java.nio.file.FileAlreadyExistsException when {@code dir} is a non-empty directory
     * @throws IOException when writing fails (nothing is left at {@code dir})
     * @throws IllegalStateException when no config is known or the model still has adapter or
     *     4-bit layers
     */
    public void savePretrained(Path dir) throws IOException {
        ObjectNode json = HfModelWriter.baseConfig(this, assets);
        HfModelWriter.save(this, json, assets.tokenizerFiles(), dir);
    }

    /** Frees the tokenizer and, for a model from {@link #fromPretrained}, all its arrays. */
    @Override
    public void close() {
        if (assets != null) {
            assets.close();
        }
    }

    /** @return the configuration */
    public LlamaConfig config() {
        return config;
    }

    /** @return the decoder stack ({@code model}) */
    public LlamaModel model() {
        return (LlamaModel) child("model");
    }

    /** @return the PEFT hooks of this model (prefixes on {@code model}, residual sites {@code model.layers.N.*}) */
    @Override
    public PeftHooks hooks() {
        return PeftHooks.of(this);
    }

    /**
     * Creates an empty KV cache for this model.
     *
     * @param manager the manager whose sub-manager will own the cache (and sets its device)
     * @return a new cache; close it when done
     */
    public KvCache newCache(NDManager manager) {
        return new KvCache(manager, config.numHiddenLayers());
    }

    /**
     * Computes logits at every position.
     *
     * @param ps the parameter store
     * @param inputIds int64 token ids {@code [B, T]}
     * @param attentionMask {@code [B, past + T]} of 1/0 for padded batches, or {@code null}
     * @param positionIds int64 {@code [B, T]}, or {@code null} to derive them (see {@link
     *     CausalMask#positionIds})
     * @param cache the KV cache to read and extend, or {@code null}
     * @param training whether this is a training pass
     * @return logits {@code [B, T, vocab]}, hidden states and the cache
     */
    public LlamaOutput forward(
            ParameterStore ps,
            NDArray inputIds,
            NDArray attentionMask,
            NDArray positionIds,
            KvCache cache,
            boolean training) {
        return forward(ps, inputIds, attentionMask, positionIds, cache, training, 0);
    }

    /**
     * Computes logits at the last {@code logitsToKeep} positions only (all when 0), which saves the
     * vocabulary-wide projection of a long prompt during generation.
     *
     * @param ps the parameter store
     * @param inputIds int64 token ids {@code [B, T]}
     * @param attentionMask {@code [B, past + T]} of 1/0 for padded batches, or {@code null}
     * @param positionIds int64 {@code [B, T]}, or {@code null} to derive them
     * @param cache the KV cache to read and extend, or {@code null}
     * @param training whether this is a training pass
     * @param logitsToKeep how many trailing positions get logits; 0 for all
     * @return logits {@code [B, min(T, logitsToKeep) or T, vocab]}, hidden states and the cache
     */
    public LlamaOutput forward(
            ParameterStore ps,
            NDArray inputIds,
            NDArray attentionMask,
            NDArray positionIds,
            KvCache cache,
            boolean training,
            int logitsToKeep) {
        if (logitsToKeep < 0) {
            throw new IllegalArgumentException("logitsToKeep must be >= 0, got " + logitsToKeep);
        }
        NDArray hidden = model().forward(ps, inputIds, attentionMask, positionIds, cache, training);
        long t = hidden.getShape().get(1);
        NDArray kept = logitsToKeep == 0 || logitsToKeep >= t
                ? hidden : hidden.get(new NDIndex(":, {}:, :", t - logitsToKeep));
        NDArray logits = ((LinearLike) child("lm_head")).forward(ps, kept, training);
        return new LlamaOutput(logits, hidden, cache);
    }

    /**
     * DJL entry point: {@code NDList(input_ids[, attention_mask])} to {@code NDList(logits)}.
     *
     * @param ps the parameter store
     * @param inputs input ids {@code [B, T]} and optionally the attention mask {@code [B, T]}
     * @param training whether this is a training pass
     * @param params unused
     * @return the logits {@code [B, T, vocab]}
     */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(ps, inputs.get(0), mask, null, null, training).logits());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(config.vocabSize())};
    }

    @Override
    public String toString() {
        return "LlamaForCausalLM(" + config + ")";
    }

    /** An output head whose weight is the input embedding's. */
    private static final class TiedHead extends Linear {
        TiedHead(Embedding embed) {
            super(embed.dim(), embed.numEmbeddings(), false);
            shareParameter("weight", embed.parameter("weight"));
        }
    }
}
