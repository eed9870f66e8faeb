package dev.peft4j.core.text;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

import java.util.Arrays;
import java.util.List;

/**
 * Tokenized texts padded on the right to the longest in the batch: {@code [batch, seq]} ids,
 * attention mask (1 for tokens, 0 for padding) and token type ids (0 for padding).
 */
public final class TokenizedBatch {

    private final long[][] ids;
    private final long[][] attentionMask;
    private final long[][] typeIds;
    private final int[] lengths;
    private final boolean[] truncated;

    private TokenizedBatch(
            long[][] ids,
            long[][] attentionMask,
            long[][] typeIds,
            int[] lengths,
            boolean[] truncated) {
        this.ids = ids;
        this.attentionMask = attentionMask;
        this.typeIds = typeIds;
        this.lengths = lengths;
        this.truncated = truncated;
    }

    /**
     * Pads texts on the right to the longest.
     *
     * @param texts the tokenized texts; at least one
     * @param padId the id padding positions get
     * @return the batch
     */
    static TokenizedBatch pad(List<TokenizedText> texts, long padId) {
        int n = texts.size();
        int seq = 0;
        for (TokenizedText t : texts) {
            seq = Math.max(seq, t.length());
        }
        long[][] ids = new long[n][seq];
        long[][] mask = new long[n][seq];
        long[][] types = new long[n][seq];
        int[] lengths = new int[n];
        boolean[] truncated = new boolean[n];
        for (int i = 0; i < n; i++) {
            TokenizedText t = texts.get(i);
            int len = t.length();
            System.arraycopy(t.ids(), 0, ids[i], 0, len);
            System.arraycopy(t.attentionMask(), 0, mask[i], 0, len);
            System.arraycopy(t.typeIds(), 0, types[i], 0, len);
            Arrays.fill(ids[i], len, seq, padId);
            lengths[i] = len;
            truncated[i] = t.truncated();
        }
        return new TokenizedBatch(ids, mask, types, lengths, truncated);
    }

    /** @return the number of texts */
    public int size() {
        return ids.length;
    }

    /** @return the padded sequence length (the longest text's length) */
    public int sequenceLength() {
        return ids.length == 0 ? 0 : ids[0].length;
    }

    /** @return each text's length before padding (a copy) */
    public int[] lengths() {
        return lengths.clone();
    }

    /** @return whether each text was truncated (a copy) */
    public boolean[] truncated() {
        return truncated.clone();
    }

    /** @return the {@code [batch, seq]} ids (a deep copy) */
    public long[][] ids() {
        return deepCopy(ids);
    }

    /** @return the {@code [batch, seq]} attention mask (a deep copy) */
    public long[][] attentionMask() {
        return deepCopy(attentionMask);
    }

    /** @return the {@code [batch, seq]} token type ids (a deep copy) */
    public long[][] typeIds() {
        return deepCopy(typeIds);
    }

    /**
     * @param manager the manager that will own the array
     * @return the ids as an INT64 {@code [batch, seq]} array named {@code input_ids}
     */
    public NDArray idsArray(NDManager manager) {
        return named(manager.create(ids), "input_ids");
    }

    /**
     * @param manager the manager that will own the array
     * @return the mask as an INT64 {@code [batch, seq]} array named {@code attention_mask}
     */
    public NDArray attentionMaskArray(NDManager manager) {
        return named(manager.create(attentionMask), "attention_mask");
    }

    /**
     * @param manager the manager that will own the array
     * @return the type ids as an INT64 {@code [batch, seq]} array named {@code token_type_ids}
     */
    public NDArray typeIdsArray(NDManager manager) {
        return named(manager.create(typeIds), "token_type_ids");
    }

    /**
     * @param manager the manager that will own the arrays
     * @return {@code input_ids}, {@code attention_mask}, {@code token_type_ids}, in that order
     */
    public NDList toNDList(NDManager manager) {
        return new NDList(idsArray(manager), attentionMaskArray(manager), typeIdsArray(manager));
    }

    private static NDArray named(NDArray a, String name) {
        a.setName(name);
        return a;
    }

    private static long[][] deepCopy(long[][] a) {
        long[][] out = new long[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }
}
