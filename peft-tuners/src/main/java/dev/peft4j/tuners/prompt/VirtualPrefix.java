package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.hooks.KeyValuePrefix;
import dev.peft4j.core.model.hooks.PrefixKeyValues;
import dev.peft4j.core.model.hooks.PrefixShape;

/**
 * Prefix tuning's hook: the encoder's output {@code [B, n, L·2·kvHeads·headDim]} split in PEFT's
 * flat layout into per-layer keys and values (no rotary embedding on them; real positions start at
 * {@code n}).
 */
final class VirtualPrefix implements KeyValuePrefix {

    private final PromptEncoder encoder;
    private final PrefixShape shape;

    /**
     * @param encoder the adapter's encoder
     * @param shape the model's prefix shape
     */
    VirtualPrefix(PromptEncoder encoder, PrefixShape shape) {
        this.encoder = encoder;
        this.shape = shape;
    }

    /** @return the encoder */
    PromptEncoder encoder() {
        return encoder;
    }

    @Override
    public int numVirtualTokens() {
        return encoder.numVirtualTokens();
    }

    @Override
    public PrefixKeyValues keyValues(ParameterStore ps, long batchSize, NDManager manager, boolean training) {
        return PrefixKeyValues.fromPeftLayout(encoder.forward(ps, batchSize, manager, training), shape.numLayers(),
                shape.kvHeads(), shape.headDim());
    }
}
