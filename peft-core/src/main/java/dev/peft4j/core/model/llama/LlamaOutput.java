package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;

/**
 * The result of a {@link LlamaForCausalLM} forward pass.
 *
 * @param logits {@code [B, T', vocab]} where {@code T'} is {@code T} or the number of positions
 *     kept ({@code logitsToKeep})
 * @param hiddenStates the final normalized hidden states {@code [B, T, hidden]}
 * @param cache the KV cache passed in, now extended by the new tokens; {@code null} when none was
 *     passed
 */
public record LlamaOutput(NDArray logits, NDArray hiddenStates, KvCache cache) {}
