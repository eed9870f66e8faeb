package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.nn.Params;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * PEFT's P-tuning ({@code P_TUNING}, MLP encoder) on the core: as {@link PromptTuningMethod}, but
 * while training the virtual tokens are {@code mlp_head(embedding.weight)} with PEFT's three-layer
 * ReLU MLP (table N(0, 1), linear layers as PyTorch initializes them); the saved {@code
 * prompt_embeddings} is that output, and a loaded adapter (inference mode) is the plain table.
 */
public final class PTuningMethod extends PromptLearningMethod<PromptEncoderConfig> {

    /** The child name of the MLP, PEFT's. */
    static final String HEAD = "mlp_head";

    /** Creates the method (found by {@link java.util.ServiceLoader}). */
    public PTuningMethod() {}

    @Override
    public String peftType() {
        return PromptEncoderConfig.PEFT_TYPE;
    }

    @Override
    public Class<PromptEncoderConfig> configType() {
        return PromptEncoderConfig.class;
    }

    @Override
    public PromptEncoderConfig readConfig(Path file) throws IOException {
        return PromptEncoderConfig.read(file);
    }

    @Override
    public void writeConfig(PromptEncoderConfig config, Path dir) throws IOException {
        PromptJson.write(config.toMap(), dir);
    }

    @Override
    PromptEncoderConfig resolve(PromptEncoderConfig c, BaseDims dims) {
        int hidden = dims.shape().hiddenSize();
        match("token_dim", c.tokenDim(), hidden, "hidden size");
        return c.withSizes(hidden, 1, c.numAttentionHeads() == null ? dims.numAttentionHeads() : c.numAttentionHeads(),
                c.numLayers() == null ? dims.shape().numLayers() : c.numLayers(),
                c.encoderHiddenSize() == null ? hidden : c.encoderHiddenSize());
    }

    @Override
    PromptEncoder newEncoder(PromptEncoderConfig c, BaseDims dims, NDManager manager, Random random,
                             boolean loading) {
        int n = c.numVirtualTokens();
        long hidden = dims.shape().hiddenSize();
        EncoderMlp head = c.inferenceMode() ? null : EncoderMlp.pTuning(hidden, c.encoderHiddenSize());
        PromptEncoder encoder = new PromptEncoder(n, hidden, HEAD, head);
        Params.assign(encoder.table(), loading ? PromptInit.zeros(manager, n, hidden)
                : PromptInit.random(manager, random, n, hidden));
        if (head != null) {
            head.initialize(manager, random, false);
        }
        return encoder;
    }

    @Override
    void install(PeftHooks hooks, PromptEncoder encoder) {
        hooks.setInputPrefix(new VirtualPrompt(encoder));
    }
}
