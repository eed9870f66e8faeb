package dev.peft4j.core.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.util.List;

/**
 * A WordLevel {@code tokenizer.json} built with Jackson: whitespace/punctuation pre-tokenizer, the
 * ChatML markers as added special tokens, no post-processor. Ids: {@code <pad>}=0, {@code
 * <unk>}=1, {@code </s>}=2, {@code <s>}=3, {@code <|im_start|>}=4, {@code <|im_end|>}=5, then
 * {@link #WORDS} from 6.
 */
public final class TinyTokenizer {

    /** The words, with ids 6, 7, ... */
    public static final List<String> WORDS = List.of(
            "hello", "world", "good", "bad", "tea", "user", "assistant", "system", "hi", "there", ":", "the",
            "is", "great", "awful", "very");

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private TinyTokenizer() {}

    /** @param word a word of {@link #WORDS} @return its id */
    public static long id(String word) {
        int i = WORDS.indexOf(word);
        if (i < 0) {
            throw new IllegalArgumentException(word);
        }
        return 6 + i;
    }

    /** @return the tokenizer.json text */
    public static String json() {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<pad>", "<unk>", "</s>", "<s>", "<|im_start|>", "<|im_end|>"};
        for (int i = 0; i < specials.length; i++) {
            added.addObject().put("id", i).put("content", specials[i]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < specials.length; i++) {
            vocab.put(specials[i], i);
        }
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.put(WORDS.get(i), 6 + i);
        }
        model.put("unk_token", "<unk>");
        return root.toString();
    }

    /**
     * @param maxLength the maximum length
     * @param truncation whether to truncate
     * @return a tokenizer without special tokens added
     * @throws IOException never in practice
     */
    public static TextTokenizer build(int maxLength, boolean truncation) throws IOException {
        return TextTokenizer.builder().setTokenizerJson(json(), "tiny").setMaxLength(maxLength)
                .optTruncation(truncation).optAddSpecialTokens(false).build();
    }
}
