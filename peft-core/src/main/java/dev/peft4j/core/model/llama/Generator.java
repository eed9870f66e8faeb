package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * Autoregressive generation with a KV cache: the prompt is run once (logits for its last position
 * only), then each new token alone. Every step's arrays live in a sub-manager closed at the end of
 * the step and the cache in one owned by the call, so native memory stays flat apart from the
 * cache itself.
 *
 * <pre>{@code
 * GenerationResult r = new Generator(lm).generate(manager, new long[] {1, 5, 77},
 *         GenerationConfig.builder().setMaxNewTokens(16).build());
 * }</pre>
 */
public final class Generator {

    private final LlamaForCausalLM model;

    /** @param model the loaded model */
    public Generator(LlamaForCausalLM model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    /**
     * Generates up to {@code config.maxNewTokens()} tokens after a prompt.
     *
     * @param manager the parent of the call's managers; its device is where the work runs
     * @param promptIds the prompt's token ids, not empty, each in {@code [0, vocab)}
     * @param config how to choose tokens and when to stop
     * @return the generated ids (prompt excluded) and why generation stopped
     */
    public GenerationResult generate(NDManager manager, long[] promptIds, GenerationConfig config) {
        Objects.requireNonNull(config, "config");
        checkIds(promptIds, model.config().vocabSize());
        Set<Long> eos = config.eosTokenIds() != null
                ? config.eosTokenIds() : new HashSet<>(model.config().eosTokenIds());
        TokenSampler sampler = new TokenSampler(config);
        long[] out = new long[config.maxNewTokens()];
        int n = 0;
        GenerationResult.StopReason reason = GenerationResult.StopReason.MAX_NEW_TOKENS;
        try (NDManager call = manager.newSubManager();
                KvCache cache = model.newCache(call)) {
            ParameterStore ps = new ParameterStore(call, false);
            long[] next = promptIds;
            while (n < out.length) {
                float[] logits;
                try (NDManager step = call.newSubManager()) {
                    NDArray ids = step.create(next, new Shape(1, next.length));
                    NDArray last = model.forward(ps, ids, null, null, cache, false, 1).logits();
                    logits = last.toType(DataType.FLOAT32, false).toFloatArray();
                }
                long token = sampler.next(logits);
                out[n++] = token;
                if (eos.contains(token)) {
                    reason = GenerationResult.StopReason.EOS;
                    break;
                }
                next = new long[] {token};
            }
        }
        return new GenerationResult(Arrays.copyOf(out, n), reason);
    }

    static void checkIds(long[] ids, int vocabSize) {
        if (ids == null || ids.length == 0) {
            throw new IllegalArgumentException("the prompt must hold at least one token id");
        }
        for (long id : ids) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException(
                        "token id " + id + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
    }
}
