package dev.peft4j.core.model.hooks;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

/**
 * Per-layer keys and values placed before the real tokens' keys and values inside every attention
 * layer, as PEFT's prefix tuning does through {@code past_key_values}.
 *
 * <p>Semantics follow PEFT 0.20 with transformers: the prefix keys get no rotary embedding (a
 * cache holds keys already rotated); the real tokens' positions start at {@code n} (BERT's absolute
 * positions and Llama's rotary positions alike; caller position ids are shifted by {@code n}); the
 * attention mask gets {@code n} ones in front (every real token sees the whole prefix, the causal
 * mask applies after it); the sequence length of outputs is unchanged. In KV-cached generation the
 * prefix is the cache's initial content.
 */
public interface KeyValuePrefix {

    /** @return {@code n}, the number of virtual tokens */
    int numVirtualTokens();

    /**
     * The prefix for a batch, for every layer. Arrays made here belong to {@code manager}, and
     * parameters should be read through {@code ps} so that gradients reach them in training.
     *
     * @param ps the parameter store of the pass
     * @param batchSize {@code B}
     * @param manager the manager of the pass
     * @param training whether this is a training pass
     * @return one key and one value per layer, each {@code [B, kvHeads, n, headDim]}
     */
    PrefixKeyValues keyValues(ParameterStore ps, long batchSize, NDManager manager, boolean training);
}
