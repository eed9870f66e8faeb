package dev.peft4j.core.data;

import static dev.peft4j.core.data.TinyTokenizer.id;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
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
import java.util.Map;

/** Classification examples from JSONL and CSV with the tiny WordLevel tokenizer. */
class ClassificationDatasetTest {

    private static TextTokenizer tokenizer;

    @TempDir Path dir;

    @BeforeAll
    static void open() throws IOException {
        tokenizer = TinyTokenizer.build(4, true);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private Path write(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    private ClassificationDataset.Builder builder(Path file) {
        return ClassificationDataset.builder().setFile(file).setTokenizer(tokenizer);
    }

    @Test
    void infersSortedLabelsAndTokenizesOnce() throws IOException {
        Path f = write("train.jsonl", """
                {"text": "the tea is great", "label": "pos"}
                {"text": "awful", "label": "neg"}
                {"text": "very very bad tea hi", "label": "meh"}
                """);
        ClassificationDataset ds = builder(f).build();
        assertEquals(List.of("meh", "neg", "pos"), ds.labels().labels());
        assertArrayEquals(new int[] {2, 1, 0}, ds.classes());
        assertArrayEquals(new long[] {id("the"), id("tea"), id("is"), id("great")}, ds.ids(0));
        assertArrayEquals(new int[] {4, 1, 4}, ds.lengths());
        assertEquals(1, ds.truncatedCount());
        assertEquals(3, ds.line(2));
        assertEquals("train.jsonl", ds.source());
    }

    @Test
    void batchesPadToTheLongestInTheBatch() throws IOException {
        Path f = write("train.jsonl", """
                {"text": "the tea is great", "label": "pos"}
                {"text": "awful", "label": "neg"}
                {"text": "good tea", "label": "pos"}
                """);
        ClassificationDataset ds = builder(f).build();
        try (NDManager m = NDManager.newBaseManager()) {
            ClassificationBatch b = ds.batch(List.of(1, 2), m);
            assertEquals(new Shape(2, 2), b.inputIds().getShape());
            assertEquals(DataType.INT64, b.inputIds().getDataType());
            assertArrayEquals(new long[] {id("awful"), 0, id("good"), id("tea")}, b.inputIds().toLongArray());
            assertArrayEquals(new long[] {1, 0, 1, 1}, b.attentionMask().toLongArray());
            assertArrayEquals(new long[4], b.tokenTypeIds().toLongArray());
            assertArrayEquals(new long[] {0, 1}, b.labels().toLongArray());
            assertEquals(3, b.tokens());
            assertEquals(new Shape(3, 4), ds.batch(List.of(0, 1, 2), m).inputIds().getShape());
        }
    }

    @Test
    void csvWithConfiguredFields() throws IOException {
        Path f = write("reviews.csv", "id,review,stars\n1,good tea,five\n2,\"bad, awful\",one\n");
        ClassificationDataset ds = builder(f).optTextField("review").optLabelField("stars").build();
        assertEquals(List.of("five", "one"), ds.labels().labels());
        assertArrayEquals(new long[] {id("bad"), 1, id("awful")}, ds.ids(1)); // "," is unknown
        assertEquals(3, ds.line(1));
    }

    @Test
    void fixedLabelsRejectUnknownLabels() throws IOException {
        Path f = write("test.jsonl", """
                {"text": "good", "label": "pos"}
                {"text": "bad", "label": "negative"}
                """);
        LabelSet labels = LabelSet.of(List.of("pos", "neg"));
        DataException e = assertThrows(DataException.class, () -> builder(f).optLabels(labels).build());
        assertEquals("test.jsonl line 2: unknown label 'negative' (labels: [pos, neg])", e.getMessage());
        ClassificationDataset ds = builder(f).optLabels(labels).optSkipBadRows(true).build();
        assertEquals(1, ds.size());
        assertEquals(1, ds.skippedRows());
        assertEquals(labels, ds.labels());
    }

    @Test
    void badRowsNameFileAndLine() throws IOException {
        Path f = write("train.jsonl", """
                {"text": "good", "label": "pos"}
                {"text": "good"}
                {"text": "   ", "label": "pos"}
                {"text": ["good"], "label": "pos"}
                {"text": "bad", "label": "neg"}
                """);
        assertEquals("train.jsonl line 2: missing field 'label'",
                assertThrows(DataException.class, () -> builder(f).build()).getMessage());
        ClassificationDataset ds = builder(f).optSkipBadRows(true).build();
        assertEquals(2, ds.size());
        assertEquals(3, ds.skippedRows());
        assertEquals(5, ds.line(1));
        Path g = write("g.jsonl", "{\"text\": \"   \", \"label\": \"pos\"}\n");
        assertEquals("g.jsonl line 1: field 'text' is empty",
                assertThrows(DataException.class, () -> builder(g).build()).getMessage());
        Path h = write("h.jsonl", "{\"text\": [\"good\"], \"label\": \"pos\"}\n");
        assertEquals("h.jsonl line 1: field 'text' is not a string",
                assertThrows(DataException.class, () -> builder(h).build()).getMessage());
        Path all = write("all.jsonl", "{\"text\": \"good\"}\n");
        assertEquals("all.jsonl: no usable rows (1 bad rows skipped)",
                assertThrows(DataException.class, () -> builder(all).optSkipBadRows(true).build()).getMessage());
    }

    @Test
    void tooLongWithoutTruncationIsABadRow() throws IOException {
        Path f = write("train.jsonl", "{\"text\": \"good\", \"label\": \"a\"}\n"
                + "{\"text\": \"very very very good tea\", \"label\": \"b\"}\n");
        try (TextTokenizer strict = TinyTokenizer.build(4, false)) {
            DataException e = assertThrows(DataException.class,
                    () -> ClassificationDataset.builder().setFile(f).setTokenizer(strict).build());
            assertEquals("train.jsonl line 2: text has 5 tokens, more than maxLength 4 (truncation is off)",
                    e.getMessage());
        }
    }

    @Test
    void builderNamesMissingFields() {
        assertEquals("a file or records are required (setFile or setRecords)",
                assertThrows(IllegalArgumentException.class,
                        () -> ClassificationDataset.builder().setTokenizer(tokenizer).build()).getMessage());
        assertEquals("set either a file or records, not both (setFile, setRecords)",
                assertThrows(IllegalArgumentException.class, () -> ClassificationDataset.builder()
                        .setTokenizer(tokenizer).setFile(dir.resolve("x.jsonl")).setRecords(List.of()).build())
                        .getMessage());
        assertEquals("tokenizer is required (setTokenizer)", assertThrows(NullPointerException.class,
                () -> ClassificationDataset.builder().setFile(dir.resolve("x.jsonl")).build()).getMessage());
        assertEquals("textField must not be blank", assertThrows(IllegalArgumentException.class,
                () -> builder(dir.resolve("x.jsonl")).optTextField(" ").build()).getMessage());
    }

    @Test
    void labelsFileRoundTrip() throws IOException {
        LabelSet labels = LabelSet.infer(List.of("other", "great", "other"))
                .withMetadata(Map.of("text_field", "review"));
        Path f = dir.resolve(LabelSet.FILE_NAME);
        labels.write(f);
        assertEquals("{\n  \"labels\" : [ \"great\", \"other\" ],\n  \"text_field\" : \"review\"\n}\n",
                Files.readString(f));
        LabelSet back = LabelSet.read(f);
        assertEquals(labels, back);
        assertEquals(1, back.indexOf("other").getAsInt());
        assertEquals("review", back.metadata().get("text_field"));
        Files.writeString(f, "{\"labels\": []}");
        assertEquals("labels.json: no 'labels' list",
                assertThrows(DataException.class, () -> LabelSet.read(f)).getMessage());
        Files.writeString(f, "{\"labels\": [\"a\", \"a\"]}");
        assertEquals("labels.json: duplicate label 'a' in [a, a]",
                assertThrows(DataException.class, () -> LabelSet.read(f)).getMessage());
    }
}
