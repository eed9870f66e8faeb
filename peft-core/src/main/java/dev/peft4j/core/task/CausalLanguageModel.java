package dev.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.CausalLmBatch;

/**
 * A model that maps a padded batch of sequences to next-token logits at every position, e.g. {@code
 * (ps, b, training) -> llama.forward(ps, b.inputIds(), b.attentionMask(), null, null,
 * training).logits()}.
 */
@FunctionalInterface
public interface CausalLanguageModel {

    /**
     * @param ps the parameter store
     * @param batch the inputs
     * @param training whether this is a training pass (dropout on)
     * @return logits {@code [B, T, vocab]}
     */
    NDArray logits(ParameterStore ps, CausalLmBatch batch, boolean training);
}
