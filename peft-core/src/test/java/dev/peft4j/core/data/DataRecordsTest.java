package dev.peft4j.core.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** {@link DataRecords}: in-memory rows become the records a file's rows would be. */
class DataRecordsTest {

    @Test
    void recordsMapsAndJsonBecomeNumberedRows() throws Exception {
        List<DataRecord> rows = DataRecords.of(List.of(new LabeledText("good tea", "good"),
                Map.of("prompt", "hi", "completion", "there"), new PlainText("tea"),
                new ObjectMapper().readTree("{\"input_ids\": [1, 2]}")), BadRows.fail());
        assertEquals(4, rows.size());
        assertEquals("records", rows.get(0).source());
        assertEquals(List.of(1L, 2L, 3L, 4L), rows.stream().map(DataRecord::line).toList());
        assertEquals("good", rows.get(0).text("label"));
        assertEquals("there", rows.get(1).text("completion"));
        assertEquals("tea", rows.get(2).text("text"));
        assertEquals(2, rows.get(3).fields().get("input_ids").size());
    }

    @Test
    void badRowsAreNamedOrSkipped() throws Exception {
        List<Object> rows = Arrays.asList(new LabeledText("a", "b"), null, "just text", new LabeledText("c", null));
        assertEquals("records line 2: row is null", assertThrows(DataException.class,
                () -> DataRecords.of(rows, BadRows.fail())).getMessage());
        BadRows skip = BadRows.skip();
        assertEquals(2, DataRecords.of(rows, skip).size());
        assertEquals(2, skip.skipped());
        assertEquals("records line 1: expected an object with fields, got a String",
                assertThrows(DataException.class, () -> DataRecords.of(List.of("just text"), BadRows.fail()))
                        .getMessage());
        DataRecord noLabel = DataRecords.of(List.of(new LabeledText("c", null)), BadRows.fail()).get(0);
        assertEquals("records line 1: missing field 'label'",
                assertThrows(DataException.class, () -> noLabel.text("label")).getMessage());
    }
}
