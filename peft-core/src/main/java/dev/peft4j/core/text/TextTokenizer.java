package dev.peft4j.core.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * A Hugging Face {@code tokenizer.json}, run by DJL's {@link HuggingFaceTokenizer} (native,
 * offline), with every setting explicit so that neither the file's own {@code truncation} / {@code
 * padding} sections nor DJL's defaults leak into the results:
 *
 * <ul>
 *   <li>special tokens: added unless {@link Builder#optAddSpecialTokens(boolean)} says otherwise;
 *   <li>truncation: on, to {@link Builder#setMaxLength(int)} tokens including special tokens
 *       (longest-first, no stride); with {@link Builder#optTruncation(boolean)
 *       optTruncation(false)} a longer text is an error instead;
 *   <li>padding: never inside the native library; {@link #encodeBatch(List)} pads on the right to
 *       the longest text of the batch with {@link #padTokenId()} (no pad-to-multiple, no fixed
 *       length);
 *   <li>no lower-casing, accent stripping or prefix space beyond what the file's own normalizer
 *       does.
 * </ul>
 *
 * <p>The MiniLM tokenizer, for instance, ships a file that pads every text to 128 tokens; here
 * {@code "This tea is wonderful."} gives the 7 ids {@code [101, 2023, 5572, 2003, 6919, 1012,
 * 102]}.
 *
 * <p>Encoding is safe from several threads (the native tokenizer is not modified after {@link
 * Builder#build()}). Holds native memory: close it.
 */
public final class TextTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final String source;
    private final int maxLength;
    private final boolean addSpecialTokens;
    private final boolean truncation;
    private final int vocabSize;
    private final OptionalLong padId;
    private final OptionalLong clsId;
    private final OptionalLong sepId;
    private final OptionalLong eosId;
    private final OptionalLong unkId;

    private TextTokenizer(Builder b, HuggingFaceTokenizer tokenizer, TokenizerVocab vocab) {
        this.tokenizer = tokenizer;
        this.source = b.source;
        this.maxLength = b.maxLength;
        this.addSpecialTokens = b.addSpecialTokens;
        this.truncation = b.truncation;
        this.vocabSize = vocab.vocabSize();
        this.padId = b.padId != null ? OptionalLong.of(b.padId) : vocab.padId();
        this.clsId = vocab.clsId();
        this.sepId = vocab.sepId();
        this.eosId = b.eosId != null ? OptionalLong.of(b.eosId) : vocab.eosId();
        this.unkId = vocab.unkId();
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Tokenizes one text, without padding.
     *
     * @param text the text
     * @return ids, attention mask (all 1) and type ids (all 0)
     * @throws IllegalArgumentException when truncation is off and the text has more than {@link
     *     #maxLength()} tokens
     */
    public TokenizedText encode(String text) {
        if (text == null) {
            throw new NullPointerException("text");
        }
        return toText(tokenizer.encode(text, addSpecialTokens, false), 0);
    }

    /**
     * Tokenizes texts and pads them on the right to the longest.
     *
     * @param texts the texts; at least one
     * @return the padded batch
     * @throws IllegalArgumentException when the list is empty, when truncation is off and a text is
     *     too long, or when padding is needed but no pad token is known
     */
    public TokenizedBatch encodeBatch(List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        String[] array = texts.toArray(new String[0]);
        for (int i = 0; i < array.length; i++) {
            if (array[i] == null) {
                throw new NullPointerException("text " + i);
            }
        }
        Encoding[] encodings = tokenizer.batchEncode(array, addSpecialTokens, false);
        List<TokenizedText> out = new ArrayList<>(encodings.length);
        int min = Integer.MAX_VALUE;
        int max = 0;
        for (int i = 0; i < encodings.length; i++) {
            TokenizedText t = toText(encodings[i], i);
            min = Math.min(min, t.length());
            max = Math.max(max, t.length());
            out.add(t);
        }
        if (min != max && padId.isEmpty()) {
            throw new IllegalArgumentException(
                    source
                            + ": the batch needs padding but the tokenizer has no pad token; set"
                            + " optPadTokenId");
        }
        return TokenizedBatch.pad(out, padId.orElse(0));
    }

    /**
     * Decodes ids to text, leaving out special tokens.
     *
     * @param ids token ids
     * @return the text
     */
    public String decode(long[] ids) {
        return decode(ids, true);
    }

    /**
     * Decodes ids to text.
     *
     * @param ids token ids
     * @param skipSpecialTokens whether to leave out special tokens ({@code [CLS]}, padding, ...)
     * @return the text
     */
    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    /** @return the largest token id plus one (30522 for MiniLM), counting added tokens */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return the maximum number of tokens per text, special tokens included */
    public int maxLength() {
        return maxLength;
    }

    /** @return the padding id: as set on the builder, else from the file (see the class doc) */
    public OptionalLong padTokenId() {
        return padId;
    }

    /** @return the classification token's id ({@code [CLS]}, {@code <s>}), when known */
    public OptionalLong clsTokenId() {
        return clsId;
    }

    /** @return the separator token's id ({@code [SEP]}, {@code </s>}), when known */
    public OptionalLong sepTokenId() {
        return sepId;
    }

    /**
     * @return the end-of-sequence id: as set on the builder, else {@code </s>} or {@code
     *     <|endoftext|>} when the vocabulary has one (a convention; the file does not say)
     */
    public OptionalLong eosTokenId() {
        return eosId;
    }

    /** @return the unknown token's id, when the model has one */
    public OptionalLong unkTokenId() {
        return unkId;
    }

    /** Releases the native tokenizer. */
    @Override
    public void close() {
        tokenizer.close();
    }

    private TokenizedText toText(Encoding e, int index) {
        long[] ids = e.getIds();
        if (!truncation && ids.length > maxLength) {
            throw new IllegalArgumentException(
                    "text "
                            + index
                            + " has "
                            + ids.length
                            + " tokens, more than maxLength "
                            + maxLength
                            + " (truncation is off)");
        }
        return new TokenizedText(ids, e.getAttentionMask(), e.getTypeIds(), e.exceedMaxLength());
    }

    /** Builds a {@link TextTokenizer}; the tokenizer file and the maximum length are required. */
    public static final class Builder {

        private Path file;
        private String json;
        private String source;
        private int maxLength;
        private boolean addSpecialTokens = true;
        private boolean truncation = true;
        private Long padId;
        private Long eosId;

        private Builder() {}

        /**
         * Sets the {@code tokenizer.json} file (or this or {@link #setTokenizerJson}).
         *
         * @param file the file
         * @return this builder
         */
        public Builder setTokenizerFile(Path file) {
            this.file = file;
            this.json = null;
            this.source = String.valueOf(file);
            return this;
        }

        /**
         * Sets the {@code tokenizer.json} content (or this or {@link #setTokenizerFile}).
         *
         * @param json the file's text
         * @param sourceName a name for messages, e.g. the model id
         * @return this builder
         */
        public Builder setTokenizerJson(String json, String sourceName) {
            this.json = json;
            this.file = null;
            this.source = sourceName;
            return this;
        }

        /**
         * Sets the maximum number of tokens per text, special tokens included (e.g. 256 for
         * all-MiniLM-L6-v2 as sentence-transformers uses it, at most its 512 positions).
         *
         * @param maxLength a positive length
         * @return this builder
         */
        public Builder setMaxLength(int maxLength) {
            this.maxLength = maxLength;
            return this;
        }

        /**
         * Sets whether to add the model's special tokens ({@code [CLS]} ... {@code [SEP]}); default
         * true.
         *
         * @param addSpecialTokens whether to add them
         * @return this builder
         */
        public Builder optAddSpecialTokens(boolean addSpecialTokens) {
            this.addSpecialTokens = addSpecialTokens;
            return this;
        }

        /**
         * Sets whether texts longer than the maximum length are truncated (default) or rejected.
         *
         * @param truncation true to truncate
         * @return this builder
         */
        public Builder optTruncation(boolean truncation) {
            this.truncation = truncation;
            return this;
        }

        /**
         * Sets the padding id, overriding what the file implies.
         *
         * @param padId the id
         * @return this builder
         */
        public Builder optPadTokenId(long padId) {
            this.padId = padId;
            return this;
        }

        /**
         * Sets the end-of-sequence id (e.g. {@code eos_token_id} of the model's config).
         *
         * @param eosId the id
         * @return this builder
         */
        public Builder optEosTokenId(long eosId) {
            this.eosId = eosId;
            return this;
        }

        /**
         * Builds the tokenizer.
         *
         * @return the tokenizer
         * @throws IllegalArgumentException when no tokenizer file or a non-positive maximum length
         *     is set
         * @throws IOException when the file cannot be read or is not a valid {@code tokenizer.json}
         */
        public TextTokenizer build() throws IOException {
            if (file == null && json == null) {
                throw new IllegalArgumentException(
                        "no tokenizer.json: call setTokenizerFile or setTokenizerJson");
            }
            if (maxLength <= 0) {
                throw new IllegalArgumentException(
                        "maxLength must be set to a positive value, not " + maxLength);
            }
            String text = json != null ? json : Files.readString(file, StandardCharsets.UTF_8);
            TokenizerVocab vocab = TokenizerVocab.parse(text, source);
            HuggingFaceTokenizer tokenizer;
            try {
                tokenizer =
                        HuggingFaceTokenizer.newInstance(
                                new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)),
                                options());
            } catch (RuntimeException e) {
                throw new IOException(source + ": invalid tokenizer.json: " + e.getMessage(), e);
            }
            return new TextTokenizer(this, tokenizer, vocab);
        }

        /** Every option DJL reads, so that none of its defaults applies. */
        private Map<String, String> options() {
            Map<String, String> o = new HashMap<>();
            o.put("addSpecialTokens", Boolean.toString(addSpecialTokens));
            o.put("withOverflowingTokens", "false");
            o.put("truncation", truncation ? "LONGEST_FIRST" : "DO_NOT_TRUNCATE");
            o.put("padding", "DO_NOT_PAD");
            o.put("maxLength", Integer.toString(maxLength));
            // DJL silently lowers maxLength to modelMaxLength (default 512).
            o.put("modelMaxLength", Integer.toString(maxLength));
            o.put("stride", "0");
            o.put("padToMultipleOf", "0");
            o.put("doLowerCase", "false");
            return o;
        }
    }
}
