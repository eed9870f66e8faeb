package dev.peft4j.core.model.llama;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleList;
import dev.peft4j.core.nn.RmsNorm;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The decoder stack without the output head, Hugging Face's {@code LlamaModel}: children {@code
 * embed_tokens}, {@code layers} ({@code 0 .. n-1}) and {@code norm}. Returns the final normalized
 * hidden states.
 */
public class LlamaModel extends Module {

    private static final Logger LOG = LoggerFactory.getLogger(LlamaModel.class);

    private final LlamaConfig config;
    private final RotaryEmbedding rotary;
    private final AtomicBoolean warnedWindow = new AtomicBoolean();

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
     * @return the final normalized hidden states {@code [B, T, hidden]}
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
        ModuleList<?> layers = (ModuleList<?>) child("layers");
        for (int i = 0; i < layers.size(); i++) {
            h = ((LlamaDecoderLayer) layers.get(i)).forward(ps, h, ctx, training);
        }
        return ((RmsNorm) child("norm")).forward(ps, h, training);
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
