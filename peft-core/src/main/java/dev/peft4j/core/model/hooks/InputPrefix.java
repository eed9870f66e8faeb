package dev.peft4j.core.model.hooks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;

/**
 * Virtual-token embeddings prepended to a model's input embeddings, as PEFT's prompt tuning and
 * P-tuning do: {@code inputs_embeds = cat([prompt, word_embeddings(input_ids)], dim=1)}.
 *
 * <p>The model then sees {@code n + T} positions: the attention mask gets {@code n} ones in front
 * (the caller's mask covers the real tokens only), positions count from 0 over the whole sequence
 * (PEFT drops caller position ids), BERT adds its position and token-type (0) embeddings to the
 * virtual tokens too, and outputs (hidden states, logits) cover all {@code n + T} positions. In
 * KV-cached generation the prompt enters at prefill and stays in the cache. Labels of the virtual
 * positions are the task's business ({@link VirtualTokens#padLabels}).
 */
public interface InputPrefix {

    /** @return {@code n}, the number of virtual tokens */
    int numVirtualTokens();

    /**
     * The prompt for a batch. Arrays made here belong to {@code manager} (the forward pass's), and
     * parameters should be read through {@code ps} so that gradients reach them in training.
     *
     * @param ps the parameter store of the pass
     * @param batchSize {@code B}
     * @param manager the manager of the pass
     * @param training whether this is a training pass
     * @return {@code [B, n, hidden]} (any float type; the model casts it to its own)
     */
    NDArray embeddings(ParameterStore ps, long batchSize, NDManager manager, boolean training);
}
