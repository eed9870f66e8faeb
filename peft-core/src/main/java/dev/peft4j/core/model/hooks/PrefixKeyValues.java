package dev.peft4j.core.model.hooks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * The keys and values of a {@link KeyValuePrefix} for one batch: per layer, keys and values {@code
 * [B, kvHeads, n, headDim]} (key/value heads, not query heads, for grouped-query attention).
 */
public final class PrefixKeyValues {

    private final List<NDArray> keys;
    private final List<NDArray> values;

    /**
     * @param keys per layer {@code [B, kvHeads, n, headDim]}
     * @param values per layer, shaped like the keys
     * @throws IllegalArgumentException when the lists are empty, differ in length, or a shape is
     *     not 4-d or differs from layer 0's
     */
    public PrefixKeyValues(List<NDArray> keys, List<NDArray> values) {
        if (keys.isEmpty() || keys.size() != values.size()) {
            throw new IllegalArgumentException("a key/value prefix needs as many values as keys, at least one layer;"
                    + " got " + keys.size() + " keys and " + values.size() + " values");
        }
        Shape first = keys.get(0).getShape();
        if (first.dimension() != 4) {
            throw new IllegalArgumentException("prefix keys must be [batch, kvHeads, n, headDim], got " + first);
        }
        for (int i = 0; i < keys.size(); i++) {
            if (!keys.get(i).getShape().equals(first) || !values.get(i).getShape().equals(first)) {
                throw new IllegalArgumentException("layer " + i + ": prefix key " + keys.get(i).getShape()
                        + " and value " + values.get(i).getShape() + " must both be " + first);
            }
        }
        this.keys = List.copyOf(keys);
        this.values = List.copyOf(values);
    }

    /**
     * Splits PEFT's flat prefix-tuning layout: {@code past_key_values} of shape {@code [B, n,
     * L·2·kvHeads·headDim]} (the rows of {@code prompt_embeddings}, batched) viewed as {@code [B, n,
     * 2L, kvHeads, headDim]} and permuted to {@code [2L, B, kvHeads, n, headDim]}; row {@code 2l}
     * is layer {@code l}'s key, row {@code 2l+1} its value. Pure reshapes, so gradients flow.
     *
     * @param flat {@code [B, n, L·2·kvHeads·headDim]}
     * @param numLayers {@code L}
     * @param kvHeads key/value heads (PEFT's {@code num_attention_heads} after its GQA rewrite)
     * @param headDim the head width ({@code token_dim / kvHeads})
     * @return the prefix
     * @throws IllegalArgumentException when the width is not {@code L·2·kvHeads·headDim}
     */
    public static PrefixKeyValues fromPeftLayout(NDArray flat, int numLayers, int kvHeads, int headDim) {
        Shape s = flat.getShape();
        long width = 2L * numLayers * kvHeads * headDim;
        if (s.dimension() != 3 || s.get(2) != width) {
            throw new IllegalArgumentException("PEFT prefix must be [batch, n, " + width + "] for " + numLayers
                    + " layers x 2 x " + kvHeads + " heads x " + headDim + ", got " + s);
        }
        long b = s.get(0);
        long n = s.get(1);
        NDArray perm = flat.reshape(b, n, 2L * numLayers, kvHeads, headDim).transpose(2, 0, 3, 1, 4);
        NDList rows = perm.split(2L * numLayers, 0);
        List<NDArray> k = new ArrayList<>();
        List<NDArray> v = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) {
            k.add(rows.get(2 * l).squeeze(0));
            v.add(rows.get(2 * l + 1).squeeze(0));
        }
        return new PrefixKeyValues(k, v);
    }

    /** @return the number of layers */
    public int numLayers() {
        return keys.size();
    }

    /** @return {@code n}, the prefix length */
    public long length() {
        return keys.get(0).getShape().get(2);
    }

    /** @return {@code [B, kvHeads, n, headDim]} */
    public Shape shape() {
        return keys.get(0).getShape();
    }

    /**
     * @param layer the layer index
     * @return the layer's keys {@code [B, kvHeads, n, headDim]}
     */
    public NDArray key(int layer) {
        return keys.get(layer);
    }

    /**
     * @param layer the layer index
     * @return the layer's values {@code [B, kvHeads, n, headDim]}
     */
    public NDArray value(int layer) {
        return values.get(layer);
    }

    /**
     * @param type the activations' type
     * @return this prefix when already of {@code type}, else a converted copy (PEFT casts to the
     *     base model's dtype)
     */
    public PrefixKeyValues toType(DataType type) {
        if (keys.get(0).getDataType() == type) {
            return this;
        }
        List<NDArray> k = new ArrayList<>();
        List<NDArray> v = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            k.add(keys.get(i).toType(type, false));
            v.add(values.get(i).toType(type, false));
        }
        return new PrefixKeyValues(k, v);
    }

    /**
     * Checks the prefix against a model.
     *
     * @param numLayers the model's layers
     * @param batch the batch size
     * @param kvHeads the model's key/value heads
     * @param headDim the model's head width
     * @return this
     * @throws IllegalArgumentException naming what differs
     */
    public PrefixKeyValues check(int numLayers, long batch, int kvHeads, int headDim) {
        Shape s = shape();
        if (keys.size() != numLayers || s.get(0) != batch || s.get(1) != kvHeads || s.get(3) != headDim) {
            throw new IllegalArgumentException("key/value prefix has " + keys.size() + " layers of " + s
                    + "; the model needs " + numLayers + " layers of [" + batch + ", " + kvHeads + ", n, "
                    + headDim + "] (batch, key/value heads, n, head_dim)");
        }
        return this;
    }
}
