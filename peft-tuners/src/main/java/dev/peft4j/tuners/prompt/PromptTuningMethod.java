package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.nn.Params;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * PEFT's prompt tuning ({@code PROMPT_TUNING}) on the core: a table {@code [n, hidden]} of virtual
 * tokens (PEFT's {@code prompt_encoder.<adapter>.embedding.weight}, saved as {@code
 * prompt_embeddings}) prepended to the input embeddings through the model's input-prefix hook.
 * The model then runs PEFT's semantics: the mask gets {@code n} ones in front, positions count
 * from 0 over the virtual tokens, BERT adds position and token-type 0 embeddings to them, causal-LM
 * labels get {@code n} ignored positions in front, generation puts the prompt in the prefill.
 */
public final class PromptTuningMethod extends PromptLearningMethod<PromptTuningConfig> {

    /** Creates the method (found by {@link java.util.ServiceLoader}). */
    public PromptTuningMethod() {}

    @Override
    public String peftType() {
        return PromptTuningConfig.PEFT_TYPE;
    }

    @Override
    public Class<PromptTuningConfig> configType() {
        return PromptTuningConfig.class;
    }

    @Override
    public PromptTuningConfig readConfig(Path file) throws IOException {
        return PromptTuningConfig.read(file);
    }

    @Override
    public void writeConfig(PromptTuningConfig config, Path dir) throws IOException {
        PromptJson.write(config.toMap(), dir);
    }

    @Override
    PromptTuningConfig resolve(PromptTuningConfig c, BaseDims dims) {
        int hidden = dims.shape().hiddenSize();
        match("token_dim", c.tokenDim(), hidden, "hidden size");
        return c.withSizes(hidden, 1, c.numAttentionHeads() == null ? dims.numAttentionHeads() : c.numAttentionHeads(),
                c.numLayers() == null ? dims.shape().numLayers() : c.numLayers());
    }

    @Override
    PromptEncoder newEncoder(PromptTuningConfig c, BaseDims dims, NDManager manager, Random random,
                             boolean loading) {
        int n = c.numVirtualTokens();
        long hidden = dims.shape().hiddenSize();
        PromptEncoder encoder = new PromptEncoder(n, hidden, null, null);
        NDArray start;
        if (loading) {
            start = PromptInit.zeros(manager, n, hidden);
        } else if (c.promptTuningInit() == PromptTuningInit.RANDOM) {
            start = PromptInit.random(manager, random, n, hidden);
        } else {
            NDArray words = dims.wordEmbeddings().getArray();
            long[] ids = c.promptTuningInit() == PromptTuningInit.SAMPLE_VOCAB
                    ? PromptInit.sampleVocab(random, words.getShape().get(0), n)
                    : PromptInit.repeatOrTruncate(PromptInit.textIds(c.promptTuningInitText(),
                            c.tokenizerNameOrPath(), dims.tokenizer().orElse(null)), n);
            start = PromptInit.rows(manager, words, ids);
        }
        Params.assign(encoder.table(), start);
        return encoder;
    }

    @Override
    void install(PeftHooks hooks, PromptEncoder encoder) {
        hooks.setInputPrefix(new VirtualPrompt(encoder));
    }
}
