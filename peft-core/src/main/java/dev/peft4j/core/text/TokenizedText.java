package dev.peft4j.core.text;

import java.util.Arrays;

/**
 * One tokenized text, unpadded.
 *
 * @param ids the token ids, with special tokens when the tokenizer adds them
 * @param attentionMask 1 for every token (there is no padding)
 * @param typeIds the token type (segment) ids, all 0 for a single text
 * @param truncated whether tokens were cut off to fit the maximum length
 */
public record TokenizedText(long[] ids, long[] attentionMask, long[] typeIds, boolean truncated) {

    /**
     * Makes defensive copies; the three arrays must have the same length.
     *
     * @param ids the token ids
     * @param attentionMask the attention mask
     * @param typeIds the token type ids
     * @param truncated whether tokens were cut off
     */
    public TokenizedText {
        if (ids.length != attentionMask.length || ids.length != typeIds.length) {
            throw new IllegalArgumentException(
                    "lengths differ: ids "
                            + ids.length
                            + ", attentionMask "
                            + attentionMask.length
                            + ", typeIds "
                            + typeIds.length);
        }
        ids = ids.clone();
        attentionMask = attentionMask.clone();
        typeIds = typeIds.clone();
    }

    /** @return the token ids (a copy) */
    @Override
    public long[] ids() {
        return ids.clone();
    }

    /** @return the attention mask (a copy) */
    @Override
    public long[] attentionMask() {
        return attentionMask.clone();
    }

    /** @return the token type ids (a copy) */
    @Override
    public long[] typeIds() {
        return typeIds.clone();
    }

    /** @return the number of tokens */
    public int length() {
        return ids.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenizedText t
                && truncated == t.truncated
                && Arrays.equals(ids, t.ids)
                && Arrays.equals(attentionMask, t.attentionMask)
                && Arrays.equals(typeIds, t.typeIds);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ids);
    }

    @Override
    public String toString() {
        return "TokenizedText" + Arrays.toString(ids) + (truncated ? " (truncated)" : "");
    }
}
