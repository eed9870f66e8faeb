package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import dev.peft4j.core.model.hooks.PrefixKeyValues;

/**
 * What every decoder layer of one forward pass shares: the rotary tables, the additive attention
 * mask and the KV cache.
 *
 * @param cos rotary cosines {@code [B, 1, T, headDim]}
 * @param sin rotary sines {@code [B, 1, T, headDim]}
 * @param mask additive float32 mask {@code [B or 1, 1, T, S]} (0 where attention is allowed, a
 *     large negative where not), or {@code null} when every query may see every key
 * @param cache the KV cache to read and extend, or {@code null}
 * @param prefix a key/value prefix placed before the keys and values when there is no cache (with
 *     a cache the prefix is its first content), or {@code null}
 */
public record AttentionContext(NDArray cos, NDArray sin, NDArray mask, KvCache cache, PrefixKeyValues prefix) {

    /**
     * A context without a key/value prefix.
     *
     * @param cos rotary cosines
     * @param sin rotary sines
     * @param mask additive mask, or {@code null}
     * @param cache the KV cache, or {@code null}
     */
    public AttentionContext(NDArray cos, NDArray sin, NDArray mask, KvCache cache) {
        this(cos, sin, mask, cache, null);
    }
}
