package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.hooks.InputPrefix;

/**
 * Prompt tuning's and P-tuning's hook: the encoder's output {@code [B, n, hidden]} prepended to
 * the input embeddings (the model extends the mask, positions and token types).
 */
final class VirtualPrompt implements InputPrefix {

    private final PromptEncoder encoder;

    /** @param encoder the adapter's encoder */
    VirtualPrompt(PromptEncoder encoder) {
        this.encoder = encoder;
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
    public NDArray embeddings(ParameterStore ps, long batchSize, NDManager manager, boolean training) {
        return encoder.forward(ps, batchSize, manager, training);
    }
}
