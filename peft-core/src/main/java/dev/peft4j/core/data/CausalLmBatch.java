package dev.peft4j.core.data;

import ai.djl.ndarray.NDArray;

/**
 * A padded batch of causal-LM sequences (right padding to the longest in the batch).
 *
 * @param inputIds INT64 {@code [B, T]}
 * @param attentionMask INT64 {@code [B, T]}, 1 for tokens and 0 for padding
 * @param labels INT64 {@code [B, T]}, {@link CausalLmExample#IGNORE} where no loss is taken
 *     (prompt tokens, padding)
 * @param tokens the number of real (unpadded) tokens
 * @param targets the number of positions the shifted loss covers
 */
public record CausalLmBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, long tokens, long targets) {}
