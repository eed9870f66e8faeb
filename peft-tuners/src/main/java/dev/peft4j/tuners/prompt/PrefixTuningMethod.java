package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.model.hooks.PrefixShape;
import dev.peft4j.core.nn.Params;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * PEFT's prefix tuning ({@code PREFIX_TUNING}) on the core: per layer {@code n} keys and values,
 * from a table {@code [n, L·2·token_dim]} in PEFT's flat layout (index {@code ((layer·2 + kv)·H +
 * head)·head_dim + d}), or with {@code prefix_projection} from PEFT's Tanh MLP over a table {@code
 * [n, token_dim]} while training; the saved {@code prompt_embeddings} is always the flat {@code [n,
 * L·2·token_dim]} prefix (the MLP's output), so a projected adapter loads as a plain table. The
 * model's key/value-prefix hook runs PEFT's semantics: no rotary embedding on prefix keys, real
 * positions from {@code n}, the mask extended by {@code n} ones, the prefix as the KV cache's first
 * content in generation. {@code token_dim}, {@code num_layers} and {@code num_attention_heads} must
 * match the base (key/value heads for grouped-query attention), checked before anything changes.
 */
public final class PrefixTuningMethod extends PromptLearningMethod<PrefixTuningConfig> {

    /** The child name of the projection MLP, PEFT's. */
    static final String HEAD = "transform";

    /** Creates the method (found by {@link java.util.ServiceLoader}). */
    public PrefixTuningMethod() {}

    @Override
    public String peftType() {
        return PrefixTuningConfig.PEFT_TYPE;
    }

    @Override
    public Class<PrefixTuningConfig> configType() {
        return PrefixTuningConfig.class;
    }

    @Override
    public PrefixTuningConfig readConfig(Path file) throws IOException {
        return PrefixTuningConfig.read(file);
    }

    @Override
    public void writeConfig(PrefixTuningConfig config, Path dir) throws IOException {
        PromptJson.write(config.toMap(), dir);
    }

    @Override
    PrefixTuningConfig resolve(PrefixTuningConfig c, BaseDims dims) {
        PrefixShape s = dims.shape();
        match("num_layers", c.numLayers(), s.numLayers(), "number of layers");
        match("num_attention_heads", c.numAttentionHeads(), s.kvHeads(), "key/value heads");
        if (c.tokenDim() != null && c.tokenDim() != s.tokenDim()) {
            throw new IllegalArgumentException("token_dim " + c.tokenDim() + " does not match the base model's"
                    + " key/value width " + s.tokenDim() + " (head_dim " + s.headDim() + " x " + s.kvHeads()
                    + " key/value heads)");
        }
        return c.withSizes(s.tokenDim(), 1, s.kvHeads(), s.numLayers(),
                c.encoderHiddenSize() == null ? s.tokenDim() : c.encoderHiddenSize());
    }

    @Override
    PromptEncoder newEncoder(PrefixTuningConfig c, BaseDims dims, NDManager manager, Random random,
                             boolean loading) {
        int n = c.numVirtualTokens();
        PrefixShape s = dims.shape();
        long width = 2L * s.numLayers() * s.tokenDim();
        boolean zero = "zero".equals(c.initWeights());
        if (c.prefixProjection() && !c.inferenceMode()) {
            EncoderMlp head = EncoderMlp.prefix(s.tokenDim(), c.encoderHiddenSize(), width);
            PromptEncoder encoder = new PromptEncoder(n, s.tokenDim(), HEAD, head);
            Params.assign(encoder.table(), PromptInit.random(manager, random, n, s.tokenDim()));
            head.initialize(manager, random, zero);
            return encoder;
        }
        PromptEncoder encoder = new PromptEncoder(n, width, null, null);
        Params.assign(encoder.table(), loading || zero ? PromptInit.zeros(manager, n, width)
                : PromptInit.random(manager, random, n, width));
        return encoder;
    }

    @Override
    void install(PeftHooks hooks, PromptEncoder encoder) {
        hooks.setKeyValuePrefix(new VirtualPrefix(encoder, hooks.prefixShape()));
    }
}
