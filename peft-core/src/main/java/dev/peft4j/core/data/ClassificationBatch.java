package dev.peft4j.core.data;

import ai.djl.ndarray.NDArray;

/**
 * A padded batch of classification examples (right padding to the longest in the batch).
 *
 * @param inputIds INT64 {@code [B, T]}
 * @param attentionMask INT64 {@code [B, T]}, 1 for tokens and 0 for padding
 * @param tokenTypeIds INT64 {@code [B, T]}, zeros for single texts
 * @param labels INT64 {@code [B]} class indices
 * @param tokens the number of real (unpadded) tokens
 */
public record ClassificationBatch(
        NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, NDArray labels, long tokens) {}
