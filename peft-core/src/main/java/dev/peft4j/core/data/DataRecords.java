package dev.peft4j.core.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns in-memory rows into {@link DataRecord}s, so that they go through exactly the code a file's
 * rows go through. A row is a {@link DataRecord} (kept), a JSON object ({@link JsonNode}), a
 * {@code Map} of field names to values, or any Java record or bean Jackson can convert ({@link
 * LabeledText}, {@link PromptCompletion}, {@link PlainText}, or the caller's own with the fields the
 * dataset reads). Row {@code i} (0-based) is reported as line {@code i + 1} of source {@value
 * #SOURCE}.
 */
public final class DataRecords {

    /** The source name of in-memory rows in error messages. */
    public static final String SOURCE = "records";

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private DataRecords() {}

    /**
     * @param rows the rows, in order
     * @param badRows where a row that is not an object goes (fails or is counted)
     * @return one record per usable row
     * @throws DataException for a row that is null or does not convert to a JSON object (unless
     *     skipped)
     */
    public static List<DataRecord> of(Iterable<?> rows, BadRows badRows) throws DataException {
        List<DataRecord> out = new ArrayList<>();
        long line = 0;
        for (Object row : rows) {
            line++;
            if (row instanceof DataRecord r) {
                out.add(r);
                continue;
            }
            try {
                out.add(new DataRecord(SOURCE, line, toObject(row, line)));
            } catch (DataException e) {
                badRows.handle(e);
            }
        }
        return out;
    }

    private static JsonNode toObject(Object row, long line) throws DataException {
        if (row == null) {
            throw new DataException(SOURCE, line, "row is null");
        }
        JsonNode node;
        try {
            node = row instanceof JsonNode n ? n : JSON.valueToTree(row);
        } catch (IllegalArgumentException e) {
            throw new DataException(SOURCE, line, "cannot read a " + row.getClass().getSimpleName()
                    + " as fields: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new DataException(SOURCE, line, "expected an object with fields, got a "
                    + row.getClass().getSimpleName());
        }
        return node;
    }
}
