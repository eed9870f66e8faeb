package dev.peft4j.core.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** JSONL and CSV rows, line numbers, and bad rows failing or skipped. */
class RecordReaderTest {

    @TempDir Path dir;

    private Path write(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    @Test
    void jsonlRowsKeepTheirLineNumbersAndSkipBlankLines() throws IOException {
        Path f = write("train.jsonl", "{\"text\": \"a\", \"label\": 1}\n\n  \n{\"text\": \"b\"}\n");
        List<DataRecord> rows = RecordReader.read(f, BadRows.fail());
        assertEquals(2, rows.size());
        assertEquals(1, rows.get(0).line());
        assertEquals(4, rows.get(1).line());
        assertEquals("train.jsonl", rows.get(1).source());
        assertEquals("1", rows.get(0).text("label"));
        DataException e = assertThrows(DataException.class, () -> rows.get(1).text("label"));
        assertEquals("train.jsonl line 4: missing field 'label'", e.getMessage());
        assertEquals(4, e.line());
        assertEquals("missing field 'label'", e.problem());
    }

    @Test
    void invalidJsonFailsWithFileAndLine() throws IOException {
        Path f = write("train.jsonl", "{\"text\": \"a\"}\n{\"text\": \n[1, 2]\n");
        DataException e = assertThrows(DataException.class, () -> RecordReader.read(f, BadRows.fail()));
        assertEquals("train.jsonl line 2: invalid JSON: Unexpected end-of-input within/between Object entries",
                e.getMessage());
    }

    @Test
    void badRowsAreSkippedAndCounted() throws IOException {
        Path f = write("train.jsonl", "{\"text\": \"a\"}\n{oops\n[1, 2]\n{\"text\": \"b\"}\n");
        BadRows bad = BadRows.skip();
        List<DataRecord> rows = RecordReader.read(f, bad);
        assertEquals(2, rows.size());
        assertEquals(2, bad.skipped());
        assertEquals("train.jsonl line 3: not a JSON object", bad.examples().get(1));
    }

    @Test
    void emptyFiles() throws IOException {
        Path f = write("empty.jsonl", "\n\n");
        assertEquals("empty.jsonl: no rows",
                assertThrows(DataException.class, () -> RecordReader.read(f, BadRows.fail())).getMessage());
        Path g = write("bad.jsonl", "nope\n");
        assertEquals("bad.jsonl: no usable rows (1 bad rows skipped)",
                assertThrows(DataException.class, () -> RecordReader.read(g, BadRows.skip())).getMessage());
    }

    @Test
    void csvHeaderNamesTheFieldsAndQuotedNewlinesKeepLineNumbers() throws IOException {
        Path f = write("train.csv", "review,label\n\"good, really\",great\n\"two\nlines\",other\nlast,\n");
        List<DataRecord> rows = RecordReader.read(f, BadRows.fail());
        assertEquals(3, rows.size());
        assertEquals("good, really", rows.get(0).text("review"));
        assertEquals(2, rows.get(0).line());
        assertEquals("two\nlines", rows.get(1).text("review"));
        assertEquals(3, rows.get(1).line());
        assertEquals(5, rows.get(2).line());
        assertEquals("train.csv line 5: missing field 'label'",
                assertThrows(DataException.class, () -> rows.get(2).text("label")).getMessage());
    }

    @Test
    void csvRowWithTooManyCellsIsABadRow() throws IOException {
        Path f = write("train.csv", "text,label\na,great\nb,other,extra\nc,other\n");
        DataException e = assertThrows(DataException.class, () -> RecordReader.read(f, BadRows.fail()));
        assertEquals("train.csv line 3: invalid CSV: Too many entries: expected at most 2 (value #2 (5 chars)"
                + " \"extra\")", e.getMessage());
        BadRows bad = BadRows.skip();
        List<DataRecord> rows = RecordReader.read(f, bad);
        assertEquals(1, bad.skipped());
        assertEquals(List.of("a", "c"), List.of(rows.get(0).text("text"), rows.get(1).text("text")));
    }

    @Test
    void unknownExtension() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RecordReader.read(dir.resolve("data.parquet"), BadRows.fail()));
        assertEquals("cannot tell the format of data.parquet: use a .jsonl or .csv file", e.getMessage());
    }
}
