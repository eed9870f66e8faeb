package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import java.util.Arrays;

/**
 * The keys and values of every decoder layer for the tokens seen so far, so that generation feeds
 * only new tokens. Arrays are {@code [B, kvHeads, S, headDim]}, after rotary embedding and before
 * the key/value heads are shared among query heads.
 *
 * <p>The cache owns a sub-manager of the manager it is created with: its arrays live there and are
 * released by {@link #close()}. Each {@link #update} appends along the sequence axis and frees the
 * previous arrays, so native memory grows with the sequence only. Not thread-safe.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private int virtualTokens;
    private boolean virtualFromInputPrefix;

    /**
     * @param parent the manager whose sub-manager will own the cached arrays (sets the device)
     * @param numLayers the number of decoder layers
     */
    public KvCache(NDManager parent, int numLayers) {
        if (numLayers <= 0) {
            throw new IllegalArgumentException("a KV cache needs at least one layer, got " + numLayers);
        }
        this.manager = parent.newSubManager();
        this.keys = new NDArray[numLayers];
        this.values = new NDArray[numLayers];
    }

    /** @return the number of layers */
    public int numLayers() {
        return keys.length;
    }

    /** @return the number of cached positions (those of layer 0; 0 when empty) */
    public long length() {
        return keys[0] == null ? 0 : keys[0].getShape().get(2);
    }

    /**
     * @return how many positions at the front of the cache are virtual tokens (a prompt-tuning
     *     prompt or a prefix-tuning prefix): the caller's attention mask does not cover them
     */
    public int virtualTokens() {
        return virtualTokens;
    }

    /**
     * @return whether the virtual tokens came from an input prefix (positions then count over the
     *     whole sequence, as PEFT's prompt tuning) rather than a key/value prefix
     */
    public boolean virtualFromInputPrefix() {
        return virtualFromInputPrefix;
    }

    /** Records that the first {@code n} cached positions are virtual tokens. */
    void markVirtual(int n, boolean fromInputPrefix) {
        this.virtualTokens = n;
        this.virtualFromInputPrefix = fromInputPrefix;
    }

    /** @return the manager that owns the cached arrays */
    public NDManager getManager() {
        return manager;
    }

    /**
     * Appends a layer's new keys and values and returns everything cached for that layer. The
     * returned arrays belong to the cache: derived arrays should be attached to the caller's
     * manager, and the returned arrays must not be closed by the caller.
     *
     * @param layer the layer index
     * @param key new keys {@code [B, kvHeads, T, headDim]}
     * @param value new values {@code [B, kvHeads, T, headDim]}
     * @return all keys and values of the layer, {@code [B, kvHeads, S + T, headDim]}
     */
    public NDList update(int layer, NDArray key, NDArray value) {
        if (layer < 0 || layer >= keys.length) {
            throw new IndexOutOfBoundsException("layer " + layer + " of a " + keys.length + "-layer cache");
        }
        keys[layer] = append(keys[layer], key);
        values[layer] = append(values[layer], value);
        return new NDList(keys[layer], values[layer]);
    }

    private NDArray append(NDArray old, NDArray fresh) {
        NDArray out;
        if (old == null) {
            out = fresh.duplicate();
        } else {
            if (old.getShape().get(0) != fresh.getShape().get(0)) {
                throw new IllegalArgumentException("KV cache holds batch " + old.getShape().get(0)
                        + " but the new tokens have batch " + fresh.getShape().get(0));
            }
            out = old.concat(fresh, 2);
        }
        out.attach(manager);
        if (old != null) {
            old.close();
        }
        return out;
    }

    /**
     * @param layer the layer index
     * @return the cached keys of the layer, or {@code null} before its first update
     */
    public NDArray keys(int layer) {
        return keys[layer];
    }

    /**
     * @param layer the layer index
     * @return the cached values of the layer, or {@code null} before its first update
     */
    public NDArray values(int layer) {
        return values[layer];
    }

    /** Frees the cached arrays. */
    @Override
    public void close() {
        manager.close();
        Arrays.fill(keys, null);
        Arrays.fill(values, null);
        virtualTokens = 0;
    }
}
