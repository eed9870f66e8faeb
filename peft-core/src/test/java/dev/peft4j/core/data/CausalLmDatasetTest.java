package dev.peft4j.core.data;

import static dev.peft4j.core.data.TinyTokenizer.id;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.text.TextTokenizer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Causal-LM sequences: label masks of every row form, templates, truncation and bad rows. */
class CausalLmDatasetTest {

    private static final long X = CausalLmExample.IGNORE;
    private static final long BOS = 3;
    private static final long EOS = 2;
    private static final long START = 4;
    private static final long END = 5;

    private static TextTokenizer tokenizer;

    @TempDir Path dir;

    @BeforeAll
    static void open() throws IOException {
        tokenizer = TinyTokenizer.build(1024, true);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private CausalLmDataset.Builder builder(String content) throws IOException {
        Path f = dir.resolve("train.jsonl");
        Files.writeString(f, content);
        return CausalLmDataset.builder().setFile(f).setMaxLength(64).optEncoder(SegmentEncoder.of(tokenizer))
                .optBosTokenId(BOS).optEosTokenId(EOS);
    }

    private static CausalLmExample only(CausalLmDataset ds) {
        assertEquals(1, ds.size());
        return ds.example(0);
    }

    @Test
    void promptCompletionTrainsOnTheCompletionAndEos() throws IOException {
        CausalLmExample e = only(builder("{\"prompt\": \"hello world\", \"completion\": \"good tea\"}\n").build());
        assertArrayEquals(new long[] {BOS, id("hello"), id("world"), id("good"), id("tea"), EOS}, e.ids());
        assertArrayEquals(new long[] {X, X, X, id("good"), id("tea"), EOS}, e.labels());
        assertEquals(3, e.targetCount());
    }

    @Test
    void chatMlTrainsOnAssistantContentAndItsEnd() throws IOException {
        String row = "{\"messages\": [{\"role\": \"system\", \"content\": \"hi\"},"
                + " {\"role\": \"user\", \"content\": \"hello world\"},"
                + " {\"role\": \"assistant\", \"content\": \"good tea\"}]}\n";
        CausalLmExample e = only(builder(row).optChatTemplate(ChatTemplate.CHATML).build());
        long sys = id("system");
        long user = id("user");
        long asst = id("assistant");
        assertArrayEquals(new long[] {BOS, START, sys, id("hi"), END, START, user, id("hello"), id("world"), END,
                START, asst, id("good"), id("tea"), END}, e.ids());
        assertArrayEquals(new long[] {X, X, X, X, X, X, X, X, X, X, X, X, id("good"), id("tea"), END}, e.labels());
    }

    @Test
    void chatMlMultiTurnMasksEveryUserTurn() throws IOException {
        String row = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"},"
                + " {\"role\": \"assistant\", \"content\": \"hello\"},"
                + " {\"role\": \"user\", \"content\": \"tea\"},"
                + " {\"role\": \"assistant\", \"content\": \"great\"}]}\n";
        CausalLmExample e = only(builder(row).build());
        assertArrayEquals(new long[] {X, X, X, X, X, X, X, id("hello"), END, X, X, X, X, X, X, id("great"), END},
                e.labels());
    }

    @Test
    void plainTemplateTrainsOnAssistantTextAndEos() throws IOException {
        String row = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"},"
                + " {\"role\": \"assistant\", \"content\": \"hello there\"}]}\n";
        CausalLmExample e = only(builder(row).optChatTemplate(ChatTemplate.PLAIN).build());
        long colon = id(":");
        assertArrayEquals(new long[] {BOS, id("user"), colon, id("hi"), id("assistant"), colon, id("hello"),
                id("there"), EOS}, e.ids());
        assertArrayEquals(new long[] {X, X, X, X, X, X, id("hello"), id("there"), EOS}, e.labels());
        assertEquals(ChatTemplate.PLAIN, ChatTemplate.parse(" Plain "));
        assertEquals("unknown chat template 'llama3' (known: plain, chatml)",
                assertThrows(IllegalArgumentException.class, () -> ChatTemplate.parse("llama3")).getMessage());
    }

    @Test
    void textTrainsOnEveryToken() throws IOException {
        CausalLmExample e = only(builder("{\"text\": \"the tea is good\"}\n").build());
        assertArrayEquals(new long[] {BOS, id("the"), id("tea"), id("is"), id("good"), EOS}, e.ids());
        assertArrayEquals(new long[] {X, id("the"), id("tea"), id("is"), id("good"), EOS}, e.labels());
    }

    @Test
    void preTokenizedRowsAreUsedAsGiven() throws IOException {
        CausalLmDataset ds = CausalLmDataset.builder().setFile(write("ids.jsonl", """
                {"input_ids": [1, 7, 8, 9]}
                {"input_ids": [1, 7, 8, 9], "prompt_len": 2}
                {"input_ids": [1, 7, 8], "labels": [-100, 7, -100]}
                """)).setMaxLength(16).optVocabSize(10).build();
        assertArrayEquals(new long[] {1, 7, 8, 9}, ds.example(0).labels());
        assertArrayEquals(new long[] {X, X, 8, 9}, ds.example(1).labels());
        assertArrayEquals(new long[] {X, 7, X}, ds.example(2).labels());
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLmBatch b = ds.batch(List.of(2, 1), m);
            assertEquals(new Shape(2, 4), b.inputIds().getShape());
            assertArrayEquals(new long[] {1, 7, 8, 0, 1, 7, 8, 9}, b.inputIds().toLongArray());
            assertArrayEquals(new long[] {1, 1, 1, 0, 1, 1, 1, 1}, b.attentionMask().toLongArray());
            assertArrayEquals(new long[] {X, 7, X, X, X, X, 8, 9}, b.labels().toLongArray());
            assertEquals(7, b.tokens());
            assertEquals(3, b.targets());
        }
    }

    private Path write(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    @Test
    void truncationKeepsTheStartAndNeedsATrainedToken() throws IOException {
        String rows = """
                {"prompt": "hello", "completion": "good tea is great"}
                {"prompt": "hello world the tea", "completion": "good"}
                """;
        CausalLmDataset ds = builder(rows).setMaxLength(4).optSkipBadRows(true).build();
        assertEquals(1, ds.size());
        assertEquals(1, ds.skippedRows());
        assertEquals(1, ds.truncatedCount());
        assertArrayEquals(new long[] {X, X, id("good"), id("tea")}, ds.example(0).labels());
        assertEquals("train.jsonl line 2: no trained tokens within maxLength 4",
                assertThrows(DataException.class, () -> builder(rows).setMaxLength(4).build()).getMessage());
        assertEquals("train.jsonl line 1: sequence has 7 tokens, more than maxLength 4 (truncation is off)",
                assertThrows(DataException.class,
                        () -> builder(rows).setMaxLength(4).optTruncation(false).build()).getMessage());
    }

    @Test
    void badRowsNameFileAndLine() throws IOException {
        assertBad("{\"prompt\": \"hello\"}", "missing field 'completion'");
        assertBad("{\"prompt\": \"hello\", \"completion\": \"\"}", "field 'completion' is empty");
        assertBad("{\"input\": \"hello\"}", "no 'text', 'prompt'/'completion', 'messages' or 'input_ids' field");
        assertBad("{\"messages\": []}", "'messages' must be a non-empty list");
        assertBad("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                "'messages' has no assistant message to train on");
        assertBad("{\"messages\": [{\"content\": \"hi\"}]}", "messages[0] has no 'role'");
        assertBad("{\"messages\": [{\"role\": \"assistant\"}]}", "messages[0] has no 'content'");
        assertBad("{\"input_ids\": [1, 12]}", "token id 12 is outside the vocabulary [0, 10)");
        assertBad("{\"input_ids\": [1, 2], \"labels\": [1]}", "'labels' has 1 entries, 'input_ids' 2");
        assertBad("{\"input_ids\": [1, 2], \"prompt_len\": 3}", "'prompt_len' must be an integer in [0, 2], got 3");
        assertBad("{\"input_ids\": [1, 2.5]}", "'input_ids'[1] is not an integer: 2.5");
        assertBad("{\"input_ids\": [1, 2], \"prompt_len\": 2}",
                "no tokens to train on (a sequence needs a trained token after its first)");
        assertBad("{\"text\": \"hello\"", "invalid JSON: Unexpected end-of-input: expected close marker for Object");
    }

    private void assertBad(String row, String problem) throws IOException {
        DataException e = assertThrows(DataException.class,
                () -> builder("{\"text\": \"hello\"}\n" + row + "\n").optVocabSize(10).build(), row);
        assertEquals("train.jsonl line 2: " + problem, e.getMessage());
        CausalLmDataset ds = builder("{\"text\": \"hello\"}\n" + row + "\n").optVocabSize(10)
                .optSkipBadRows(true).build();
        assertEquals(1, ds.skippedRows(), row);
    }

    @Test
    void textRowsNeedATokenizer() throws IOException {
        Path f = write("t.jsonl", "{\"text\": \"hello\"}\n");
        DataException e = assertThrows(DataException.class,
                () -> CausalLmDataset.builder().setFile(f).setMaxLength(8).build());
        assertEquals("t.jsonl line 1: text rows need a tokenizer (only pre-tokenized 'input_ids' rows work"
                + " without)", e.getMessage());
        assertEquals("maxLength must be positive (setMaxLength), got 0", assertThrows(IllegalArgumentException.class,
                () -> CausalLmDataset.builder().setFile(f).build()).getMessage());
    }
}
