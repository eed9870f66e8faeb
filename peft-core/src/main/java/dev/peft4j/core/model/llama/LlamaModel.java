package dev.peft4j.core.model.llama;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.checkpoint.FrozenLinearTape;
import dev.peft4j.core.checkpoint.HasLayerStack;
import dev.peft4j.core.checkpoint.LayerSeeds;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.checkpoint.ResidualBlockLayer;
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
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleList;
import dev.peft4j.core.nn.RmsNorm;
import dev.peft4j.core.nn.Scalars;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The decoder stack without the output head, Hugging Face's {@code LlamaModel}: children {@code
 * embed_tokens}, {@code layers} ({@code 0 .. n-1}) and {@code norm}. Returns the final normalized
 * hidden states.
 *
 * <p>PEFT methods that replace no layer use {@link #hooks()}: an {@link InputPrefix} (prompt
 * tuning), a {@link KeyValuePrefix} (prefix tuning), residual hooks (bottleneck adapters). A
 * prefix enters a KV cache at prefill and is remembered there ({@link KvCache#virtualTokens()});
 * the caller's attention mask and position ids always describe the real tokens only.
 *
 * <p>In a training pass every decoder layer starts its own random stream ({@link LayerSeeds}:
 * the engine's generator, which LoRA's and the adapters' dropouts draw from, is seeded from a
 * per-pass seed and the layer index). With gradient checkpointing on ({@link #layerStack()},
 * {@code GradientCheckpointing.enable}) a training pass without a KV cache keeps only the layers'
 * inputs and recomputes each layer in the backward pass ({@link LayerStack}); prefix tuning is
 * then refused.
 */
public class LlamaModel extends Module implements PrefixHost, HasPeftHooks, HasLayerStack {

    private static final Logger LOG = LoggerFactory.getLogger(LlamaModel.class);

    private final LlamaConfig config;
    private final RotaryEmbedding rotary;
    private final AtomicBoolean warnedWindow = new AtomicBoolean();
    private final AtomicBoolean warnedPositions = new AtomicBoolean();
    private final LayerStack layerStack = new LayerStack();
    private InputPrefix inputPrefix;
    private KeyValuePrefix keyValuePrefix;

    /** @param config the model configuration */
    public LlamaModel(LlamaConfig config) {
        this.config = config;
        this.rotary = RotaryEmbedding.of(config);
        registerModule("embed_tokens", new Embedding(config.vocabSize(), config.hiddenSize()));
        List<LlamaDecoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new LlamaDecoderLayer(config, i));
        }
        registerModule("layers", new ModuleList<>(layers));
        registerModule("norm", new RmsNorm(config.hiddenSize(), (float) config.rmsNormEps()));
    }

    /** @return the configuration */
    public LlamaConfig config() {
        return config;
    }

    /** @return the rotary embedding */
    public RotaryEmbedding rotary() {
        return rotary;
    }

    /**
     * Runs the decoder stack. Temporaries are created in {@code inputIds}' manager, on its device.
     *
     * @param ps the parameter store
     * @param inputIds int64 token ids {@code [B, T]}
     * @param attentionMask {@code [B, past + T]} of 1/0 for padded batches, or {@code null}
     * @param positionIds int64 {@code [B, T]}, or {@code null} for {@link CausalMask#positionIds}
     * @param cache the KV cache to read and extend, or {@code null}
     * @param training whether this is a training pass
     * @return the final normalized hidden states {@code [B, T, hidden]} ({@code [B, n + T, hidden]}
     *     at prefill with an {@link InputPrefix} of {@code n} virtual tokens)
     */
    public NDArray forward(
            ParameterStore ps,
            NDArray inputIds,
            NDArray attentionMask,
            NDArray positionIds,
            KvCache cache,
            boolean training) {
        Shape shape = inputIds.getShape();
        if (shape.dimension() != 2) {
            throw new IllegalArgumentException("input_ids must be [batch, length], got " + shape);
        }
        if (cache != null && cache.numLayers() != config.numHiddenLayers()) {
            throw new IllegalArgumentException("the KV cache has " + cache.numLayers()
                    + " layers, the model " + config.numHiddenLayers());
        }
        if (inputPrefix != null || keyValuePrefix != null || (cache != null && cache.virtualTokens() > 0)) {
            return forwardWithPrefix(ps, inputIds, attentionMask, positionIds, cache, training);
        }
        long b = shape.get(0);
        long t = shape.get(1);
        long past = cache == null ? 0 : cache.length();
        NDManager work = inputIds.getManager();
        Device device = inputIds.getDevice();
        warnIfBeyondWindow(past + t);
        if (positionIds == null) {
            positionIds = CausalMask.positionIds(work, device, b, past, t, attentionMask);
        } else if (!positionIds.getShape().equals(new Shape(b, t))) {
            throw new IllegalArgumentException(
                    "position_ids must be " + new Shape(b, t) + " like input_ids, got " + positionIds.getShape());
        }
        NDArray mask = CausalMask.additive(work, device, past, t, attentionMask);

        NDArray h = ((Embedding) child("embed_tokens")).forward(ps, inputIds, training);
        DataType type = h.getDataType();
        NDList cosSin = rotary.cosSin(positionIds, type);
        AttentionContext ctx = new AttentionContext(cosSin.get(0), cosSin.get(1), mask, cache);
        h = runLayers(ps, h, ctx, training);
        return ((RmsNorm) child("norm")).forward(ps, h, training);
    }

    /**
     * PEFT's prompt learning. Input prefix (prompt tuning): at prefill the prompt goes before the
     * token embeddings, outputs cover {@code n + T} positions, positions are {@code past ..
     * past+n+T-1} regardless of padding (PEFT sets {@code position_ids} to {@code None}, so
     * transformers uses {@code cache_position}). Key/value prefix (prefix tuning): the prefix is
     * the cache's first content (or, without a cache, is concatenated in every attention layer),
     * unrotated; real positions are the default ones shifted by {@code n} (caller position ids
     * {@code + n}, as PEFT's {@code _adjust_prompt_learning_kwargs}). Either way the caller's mask
     * gets {@code n} ones in front.
     */
    private NDArray forwardWithPrefix(ParameterStore ps, NDArray inputIds, NDArray attentionMask,
            NDArray positionIds, KvCache cache, boolean training) {
        long b = inputIds.getShape().get(0);
        long t = inputIds.getShape().get(1);
        NDManager work = inputIds.getManager();
        Device device = inputIds.getDevice();
        boolean prefill = cache == null || cache.length() == 0;
        NDArray h = ((Embedding) child("embed_tokens")).forward(ps, inputIds, training);
        DataType type = h.getDataType();
        PrefixKeyValues kv = null;
        int virtual;
        boolean input;
        if (!prefill) {
            if (cache.virtualTokens() == 0) {
                throw new IllegalStateException("the KV cache holds " + cache.length() + " positions computed"
                        + " without the installed prefix; start with an empty cache after installing a prefix");
            }
            virtual = cache.virtualTokens();
            input = cache.virtualFromInputPrefix();
        } else if (inputPrefix != null && keyValuePrefix != null) {
            throw new IllegalStateException("both an input prefix and a key/value prefix are installed;"
                    + " PEFT runs one prompt-learning adapter at a time");
        } else if (inputPrefix != null) {
            NDArray prompt = inputPrefix.embeddings(ps, b, work, training);
            Shape want = new Shape(b, inputPrefix.numVirtualTokens(), config.hiddenSize());
            if (!prompt.getShape().equals(want)) {
                throw new IllegalArgumentException("input prefix gave " + prompt.getShape() + ", expected " + want
                        + " (batch, num_virtual_tokens, hidden_size)");
            }
            h = (prompt.getDataType() == type ? prompt : prompt.toType(type, false)).concat(h, 1);
            virtual = (int) want.get(1);
            input = true;
        } else {
            PrefixShape layout = prefixShape();
            kv = keyValuePrefix.keyValues(ps, b, work, training)
                    .check(layout.numLayers(), b, layout.kvHeads(), layout.headDim()).toType(type);
            virtual = (int) kv.length();
            input = false;
            if (cache != null) {
                for (int i = 0; i < layout.numLayers(); i++) {
                    cache.update(i, kv.key(i), kv.value(i));
                }
                kv = null; // now the cache's first content
            }
        }
        if (prefill && cache != null) {
            cache.markVirtual(virtual, input);
        }
        long tNew = h.getShape().get(1);
        long past = cache != null ? cache.length() : kv != null ? virtual : 0;
        warnIfBeyondWindow(past + tNew);
        NDArray fullMask = VirtualTokens.extendMask(attentionMask, virtual);
        if (input) {
            if (positionIds != null && warnedPositions.compareAndSet(false, true)) {
                LOG.warn("position ids are ignored with an input prefix (as PEFT's prompt tuning does)");
            }
            positionIds = CausalMask.positionIds(work, device, b, past, tNew, null);
        } else if (positionIds == null) {
            positionIds = CausalMask.positionIds(work, device, b, past, tNew, fullMask);
        } else if (!positionIds.getShape().equals(new Shape(b, t))) {
            throw new IllegalArgumentException(
                    "position_ids must be " + new Shape(b, t) + " like input_ids, got " + positionIds.getShape());
        } else {
            positionIds = positionIds.add(Scalars.of(positionIds, virtual));
        }
        NDArray mask = CausalMask.additive(work, device, past, tNew, fullMask);
        NDList cosSin = rotary.cosSin(positionIds, type);
        AttentionContext ctx = new AttentionContext(cosSin.get(0), cosSin.get(1), mask, cache, kv);
        h = runLayers(ps, h, ctx, training);
        return ((RmsNorm) child("norm")).forward(ps, h, training);
    }

    /**
     * The decoder layers: checkpointed ({@link LayerStack#forward}) in a training pass without a
     * cache when enabled, else in turn; a training pass seeds every layer's random stream either
     * way, so that both give the same dropout masks.
     */
    private NDArray runLayers(ParameterStore ps, NDArray h, AttentionContext ctx, boolean training) {
        ModuleList<?> layers = (ModuleList<?>) child("layers");
        DropoutMasks masks = DropoutMasks.engine();
        if (ctx.cache() == null && layerStack.checkpoints(training)) {
            if (ctx.prefix() != null) {
                throw new IllegalStateException(LayerStack.PREFIX_TUNING_REFUSED);
            }
            boolean inputTracked = inputPrefix != null
                    || ((Embedding) child("embed_tokens")).parameter("weight").requiresGradient();
            return layerStack.forward(h, layers.size(), new Blocks(layers, ps, ctx), masks, inputTracked);
        }
        LayerSeeds seeds = training ? LayerSeeds.draw(masks, h.getManager()) : null;
        for (int i = 0; i < layers.size(); i++) {
            if (seeds != null) {
                seeds.enter(masks, i);
            }
            h = ((LlamaDecoderLayer) layers.get(i)).forward(ps, h, ctx, training);
        }
        return h;
    }

    /**
     * The decoder layers as residual blocks for the checkpointed stack: block 0 attention ({@code
     * o_proj} its tail), block 1 MLP ({@code down_proj}), in a training pass.
     */
    private record Blocks(ModuleList<?> layers, ParameterStore ps, AttentionContext ctx) implements ResidualBlockLayer {

        private LlamaDecoderLayer layer(int index) {
            return (LlamaDecoderLayer) layers.get(index);
        }

        @Override
        public int blockCount(int index) {
            return 2;
        }

        @Override
        public NDArray block(int index, int block, NDArray x, DropoutMasks masks) {
            return block == 0 ? layer(index).attentionBlock(ps, x, ctx, true) : layer(index).mlpBlock(ps, x, true);
        }

        @Override
        public NDArray body(int index, int block, NDArray x, DropoutMasks masks) {
            return block == 0 ? layer(index).attentionBody(ps, x, ctx, true) : layer(index).mlpBody(ps, x, true);
        }

        @Override
        public FrozenLinearTape.InputGradient frozenTail(int index, int block) {
            return layer(index).frozenTail(ps, block);
        }

        @Override
        public NDArray forward(int index, NDArray x, DropoutMasks masks) {
            return layer(index).forward(ps, x, ctx, true);
        }
    }

    /** @return the gradient-checkpointing state of the decoder layers */
    @Override
    public LayerStack layerStack() {
        return layerStack;
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

    /** @return one key and value per decoder layer, of {@code num_key_value_heads} heads */
    @Override
    public PrefixShape prefixShape() {
        return new PrefixShape(config.numHiddenLayers(), config.numKeyValueHeads(), config.headDim(),
                config.hiddenSize());
    }

    @Override
    public PeftHooks hooks() {
        return PeftHooks.of(this);
    }

    private void warnIfBeyondWindow(long length) {
        if (config.slidingWindow().isPresent()
                && length > config.slidingWindow().getAsInt()
                && warnedWindow.compareAndSet(false, true)) {
            LOG.warn("sequence length {} exceeds sliding_window {} of {}: peft4j attends to the whole"
                            + " sequence, so results differ from a sliding-window implementation",
                    length, config.slidingWindow().getAsInt(), config.source());
        }
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(ps, inputs.get(0), mask, null, null, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(config.hiddenSize())};
    }
}
