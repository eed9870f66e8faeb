package dev.peft4j.core.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.Map;
import java.util.OptionalLong;

/**
 * What peft4j reads from a {@code tokenizer.json} itself (the native library does not expose it):
 * the vocabulary size and the ids of special tokens.
 *
 * <p>Lookup of a token: {@code added_tokens} first, then {@code model.vocab} (an object for
 * WordPiece, BPE and WordLevel; a list of {@code [piece, score]} for Unigram, where the index is
 * the id). Special tokens:
 *
 * <ul>
 *   <li>pad: {@code padding.pad_id} when the file configures padding, else {@code [PAD]}, {@code
 *       <pad>};
 *   <li>cls / sep: the {@code cls} / {@code sep} of a {@code BertProcessing} or {@code
 *       RobertaProcessing} post-processor, else {@code [CLS]}, {@code <s>} / {@code [SEP]}, {@code
 *       </s>};
 *   <li>eos: {@code </s>}, {@code <|endoftext|>} (a convention, not stated by the file);
 *   <li>unk: the model's {@code unk_token} ({@code unk_id} for Unigram).
 * </ul>
 */
final class TokenizerVocab {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final JsonNode root;
    private final int vocabSize;

    private TokenizerVocab(JsonNode root, int vocabSize) {
        this.root = root;
        this.vocabSize = vocabSize;
    }

    /**
     * Parses a {@code tokenizer.json}.
     *
     * @param json the file's text
     * @param source a name for messages
     * @return the vocabulary facts
     * @throws IOException when the JSON is invalid or has no {@code model.vocab}
     */
    static TokenizerVocab parse(String json, String source) throws IOException {
        JsonNode root = MAPPER.readTree(json);
        JsonNode vocab = root == null ? null : root.path("model").get("vocab");
        if (vocab == null || !(vocab.isObject() || vocab.isArray())) {
            throw new IOException(source + ": tokenizer.json has no model.vocab");
        }
        long max = -1;
        if (vocab.isArray()) {
            max = vocab.size() - 1L;
        } else {
            for (Map.Entry<String, JsonNode> e : vocab.properties()) {
                max = Math.max(max, e.getValue().asLong(-1));
            }
        }
        for (JsonNode t : root.path("added_tokens")) {
            max = Math.max(max, t.path("id").asLong(-1));
        }
        return new TokenizerVocab(root, Math.toIntExact(max + 1));
    }

    /** @return the largest token id plus one, counting added tokens */
    int vocabSize() {
        return vocabSize;
    }

    /**
     * @param token a token's text
     * @return its id, when the vocabulary or the added tokens have it
     */
    OptionalLong tokenId(String token) {
        for (JsonNode t : root.path("added_tokens")) {
            if (token.equals(t.path("content").asText(null)) && t.path("id").canConvertToLong()) {
                return OptionalLong.of(t.path("id").asLong());
            }
        }
        JsonNode vocab = root.path("model").path("vocab");
        if (vocab.isObject()) {
            JsonNode id = vocab.get(token);
            return id != null && id.canConvertToLong()
                    ? OptionalLong.of(id.asLong())
                    : OptionalLong.empty();
        }
        for (int i = 0; i < vocab.size(); i++) {
            if (token.equals(vocab.get(i).path(0).asText(null))) {
                return OptionalLong.of(i);
            }
        }
        return OptionalLong.empty();
    }

    OptionalLong padId() {
        JsonNode padding = root.get("padding");
        if (padding != null && padding.isObject() && padding.path("pad_id").canConvertToLong()) {
            return OptionalLong.of(padding.path("pad_id").asLong());
        }
        return first("[PAD]", "<pad>");
    }

    OptionalLong clsId() {
        OptionalLong id = postProcessorId("cls");
        return id.isPresent() ? id : first("[CLS]", "<s>");
    }

    OptionalLong sepId() {
        OptionalLong id = postProcessorId("sep");
        return id.isPresent() ? id : first("[SEP]", "</s>");
    }

    OptionalLong eosId() {
        return first("</s>", "<|endoftext|>");
    }

    OptionalLong unkId() {
        JsonNode model = root.path("model");
        if (model.path("unk_id").canConvertToLong()) {
            return OptionalLong.of(model.path("unk_id").asLong());
        }
        String unk = model.path("unk_token").asText(null);
        return unk == null ? OptionalLong.empty() : tokenId(unk);
    }

    /** {@code "cls": ["[CLS]", 101]} of BertProcessing / RobertaProcessing. */
    private OptionalLong postProcessorId(String key) {
        JsonNode pair = root.path("post_processor").path(key);
        if (pair.isArray() && pair.size() == 2 && pair.get(1).canConvertToLong()) {
            return OptionalLong.of(pair.get(1).asLong());
        }
        return OptionalLong.empty();
    }

    private OptionalLong first(String... tokens) {
        for (String t : tokens) {
            OptionalLong id = tokenId(t);
            if (id.isPresent()) {
                return id;
            }
        }
        return OptionalLong.empty();
    }
}
