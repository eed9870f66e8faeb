package dev.peft4j.core.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.testing.Fixtures;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/** TextTokenizer on the all-MiniLM-L6-v2 tokenizer and on a tiny WordLevel tokenizer. */
class TextTokenizerTest {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String TEA = "This tea is wonderful.";
    private static final String PACKAGE = "The package arrived broken and the cookies were stale.";
    private static final long[] TEA_IDS = {101, 2023, 5572, 2003, 6919, 1012, 102};
    private static final long[] PACKAGE_IDS = {
        101, 1996, 7427, 3369, 3714, 1998, 1996, 16324, 2020, 26729, 1012, 102
    };

    private static String miniLmJson;
    private static TextTokenizer miniLm;

    @BeforeAll
    static void load() throws IOException {
        // all-MiniLM-L6-v2's tokenizer.json, from the weights jar (a test dependency; the
        // builtin model itself lives in peft-minilm).
        try (InputStream in = TextTokenizerTest.class.getClassLoader()
                .getResourceAsStream("all-minilm-l6-v2-tokenizer.json")) {
            miniLmJson = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        miniLm = miniLm(128).build();
    }

    @AfterAll
    static void close() {
        miniLm.close();
    }

    private static TextTokenizer.Builder miniLm(int maxLength) {
        return TextTokenizer.builder()
                .setTokenizerJson(miniLmJson, "all-minilm-l6-v2")
                .setMaxLength(maxLength);
    }

    @Test
    void encodesWithoutThePaddingTheFileConfigures() {
        // The file itself pads to 128 and truncates to 128; none of that leaks.
        TokenizedText t = miniLm.encode(TEA);
        assertArrayEquals(TEA_IDS, t.ids());
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 1}, t.attentionMask());
        assertArrayEquals(new long[7], t.typeIds());
        assertFalse(t.truncated());
        assertArrayEquals(PACKAGE_IDS, miniLm.encode(PACKAGE).ids());
    }

    @Test
    void reproducesFixtureIds() throws IOException {
        Path expected = sharedFixture("peft-minilm-qv/expected.json");
        JsonNode sentences = MAPPER.readTree(expected.toFile()).get("sentences");
        assertEquals(2, sentences.size());
        for (JsonNode s : sentences) {
            long[] ids = MAPPER.treeToValue(s.get("ids"), long[].class);
            assertArrayEquals(
                    ids, miniLm.encode(s.get("text").asText()).ids(), s.get("text").asText());
        }
    }

    @Test
    void padsBatchesToTheLongest() {
        TokenizedBatch b = miniLm.encodeBatch(List.of(TEA, PACKAGE));
        assertEquals(2, b.size());
        assertEquals(12, b.sequenceLength());
        assertArrayEquals(new int[] {7, 12}, b.lengths());
        assertArrayEquals(new boolean[] {false, false}, b.truncated());
        long[] teaPadded = {101, 2023, 5572, 2003, 6919, 1012, 102, 0, 0, 0, 0, 0};
        assertArrayEquals(new long[][] {teaPadded, PACKAGE_IDS}, b.ids());
        assertArrayEquals(
                new long[][] {
                    {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
                },
                b.attentionMask());
        assertArrayEquals(new long[2][12], b.typeIds());

        try (NDManager m = NDManager.newBaseManager()) {
            NDList list = b.toNDList(m);
            assertEquals(3, list.size());
            NDArray ids = list.get(0);
            assertEquals("input_ids", ids.getName());
            assertEquals("attention_mask", list.get(1).getName());
            assertEquals("token_type_ids", list.get(2).getName());
            assertEquals(new Shape(2, 12), ids.getShape());
            assertEquals(DataType.INT64, ids.getDataType());
            assertArrayEquals(teaPadded, ids.get(0).toLongArray());
            assertEquals(19, list.get(1).sum().getLong());
        }
    }

    @Test
    void truncatesToMaxLengthKeepingSpecialTokens() throws IOException {
        try (TextTokenizer t = miniLm(8).build()) {
            TokenizedText text = t.encode(PACKAGE);
            assertArrayEquals(
                    new long[] {101, 1996, 7427, 3369, 3714, 1998, 1996, 102}, text.ids());
            assertTrue(text.truncated());
            assertArrayEquals(TEA_IDS, t.encode(TEA).ids());
            assertArrayEquals(
                    new boolean[] {false, true}, t.encodeBatch(List.of(TEA, PACKAGE)).truncated());
        }
    }

    @Test
    void maxLengthAbove512IsNotLowered() throws IOException {
        String longText = "word ".repeat(700);
        try (TextTokenizer t = miniLm(600).build()) {
            assertEquals(600, t.encode(longText).length());
        }
    }

    @Test
    void refusesLongTextsWithoutTruncation() throws IOException {
        try (TextTokenizer t = miniLm(8).optTruncation(false).build()) {
            assertEquals(7, t.encode(TEA).length());
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> t.encode(PACKAGE));
            assertEquals(
                    "text 0 has 12 tokens, more than maxLength 8 (truncation is off)",
                    e.getMessage());
            e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> t.encodeBatch(List.of(TEA, PACKAGE)));
            assertEquals(
                    "text 1 has 12 tokens, more than maxLength 8 (truncation is off)",
                    e.getMessage());
        }
    }

    @Test
    void withoutSpecialTokens() throws IOException {
        try (TextTokenizer t = miniLm(128).optAddSpecialTokens(false).build()) {
            assertArrayEquals(new long[] {2023, 5572, 2003, 6919, 1012}, t.encode(TEA).ids());
        }
    }

    @Test
    void decodes() {
        assertEquals("this tea is wonderful.", miniLm.decode(TEA_IDS));
        assertEquals("[CLS] this tea is wonderful. [SEP]", miniLm.decode(TEA_IDS, false));
    }

    @Test
    void vocabularyAndSpecialTokens() {
        assertEquals(30522, miniLm.vocabSize());
        assertEquals(128, miniLm.maxLength());
        assertEquals(OptionalLong.of(0), miniLm.padTokenId());
        assertEquals(OptionalLong.of(101), miniLm.clsTokenId());
        assertEquals(OptionalLong.of(102), miniLm.sepTokenId());
        assertEquals(OptionalLong.of(100), miniLm.unkTokenId());
        assertEquals(OptionalLong.empty(), miniLm.eosTokenId());
    }

    @Test
    void fromFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, miniLmJson);
        try (TextTokenizer t =
                TextTokenizer.builder().setTokenizerFile(file).setMaxLength(16).build()) {
            assertArrayEquals(TEA_IDS, t.encode(TEA).ids());
        }
    }

    @Test
    void builderValidation() {
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> TextTokenizer.builder().setMaxLength(8).build());
        assertEquals(
                "no tokenizer.json: call setTokenizerFile or setTokenizerJson", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> miniLm(0).build());
        assertEquals("maxLength must be set to a positive value, not 0", e.getMessage());
        IOException io =
                assertThrows(
                        IOException.class,
                        () ->
                                TextTokenizer.builder()
                                        .setTokenizerJson("{\"model\": {}}", "broken")
                                        .setMaxLength(8)
                                        .build());
        assertEquals("broken: tokenizer.json has no model.vocab", io.getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> miniLm.encodeBatch(List.of()), "empty batch");
    }

    /** A WordLevel tokenizer with {@code <pad>} and {@code </s>}, built with Jackson. */
    private static String wordLevelJson(boolean withPad) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.putArray("added_tokens");
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        vocab.put("<unk>", 0);
        vocab.put("</s>", 1);
        vocab.put("hello", 2);
        vocab.put("world", 3);
        if (withPad) {
            vocab.put("<pad>", 4);
        }
        model.put("unk_token", "<unk>");
        return root.toString();
    }

    @Test
    void wordLevelConventions() throws IOException {
        try (TextTokenizer t =
                TextTokenizer.builder()
                        .setTokenizerJson(wordLevelJson(true), "wl")
                        .setMaxLength(8)
                        .build()) {
            assertEquals(5, t.vocabSize());
            assertEquals(OptionalLong.of(4), t.padTokenId());
            assertEquals(OptionalLong.of(1), t.eosTokenId());
            assertEquals(OptionalLong.of(1), t.sepTokenId());
            assertEquals(OptionalLong.empty(), t.clsTokenId());
            assertEquals(OptionalLong.of(0), t.unkTokenId());
            assertArrayEquals(new long[] {2, 3, 0}, t.encode("hello world foo").ids());
            assertArrayEquals(
                    new long[][] {{2, 4}, {2, 3}},
                    t.encodeBatch(List.of("hello", "hello world")).ids());
        }
        try (TextTokenizer t =
                TextTokenizer.builder()
                        .setTokenizerJson(wordLevelJson(false), "wl")
                        .setMaxLength(8)
                        .build()) {
            assertEquals(OptionalLong.empty(), t.padTokenId());
            assertEquals(1, t.encodeBatch(List.of("hello world")).size());
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> t.encodeBatch(List.of("hello", "hello world")));
            assertEquals(
                    "wl: the batch needs padding but the tokenizer has no pad token; set"
                        + " optPadTokenId",
                    e.getMessage());
        }
        try (TextTokenizer t =
                TextTokenizer.builder()
                        .setTokenizerJson(wordLevelJson(false), "wl")
                        .setMaxLength(8)
                        .optPadTokenId(1)
                        .optEosTokenId(3)
                        .build()) {
            assertEquals(OptionalLong.of(3), t.eosTokenId());
            assertArrayEquals(
                    new long[][] {{2, 1}, {2, 3}},
                    t.encodeBatch(List.of("hello", "hello world")).ids());
        }
    }

    /** A shared fixture ({@code ../shared/fixtures/...}); see {@link Fixtures} for when it is absent. */
    static Path sharedFixture(String relative) {
        return Fixtures.fixture(relative);
    }
}
