package dev.peft4j.core.data;

import dev.peft4j.core.text.TextTokenizer;

/**
 * Turns one piece of text into token ids without special tokens; {@link CausalLmDataset}
 * tokenizes every {@link Segment} on its own and concatenates the ids.
 */
@FunctionalInterface
public interface SegmentEncoder {

    /**
     * @param text the text (may be empty)
     * @return its ids
     */
    long[] encode(String text);

    /**
     * @param tokenizer a tokenizer built with {@code optAddSpecialTokens(false)} and a maximum
     *     length at least that of the longest segment (or truncation off)
     * @return an encoder using it
     */
    static SegmentEncoder of(TextTokenizer tokenizer) {
        return text -> text.isEmpty() ? new long[0] : tokenizer.encode(text).ids();
    }
}
