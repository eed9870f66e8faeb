package dev.peft4j.core.data;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Objects;

/**
 * One row of a data file: its fields as a JSON object (CSV cells are strings) and where it came
 * from, for error messages.
 *
 * @param source the file name
 * @param line the 1-based line the row starts on
 * @param fields the row's fields
 */
public record DataRecord(String source, long line, JsonNode fields) {

    /** Checks the fields. */
    public DataRecord {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(fields, "fields");
    }

    /**
     * @param field a field name
     * @return whether the row has the field with a non-null value
     */
    public boolean has(String field) {
        JsonNode v = fields.get(field);
        return v != null && !v.isNull();
    }

    /**
     * A field as non-empty text; numbers and booleans are accepted and written as JSON writes them.
     *
     * @param field the field name
     * @return the text
     * @throws DataException when the field is missing, not a scalar, or empty (blank)
     */
    public String text(String field) throws DataException {
        JsonNode v = fields.get(field);
        if (v == null || v.isNull()) {
            throw error("missing field '" + field + "'");
        }
        if (!v.isValueNode()) {
            throw error("field '" + field + "' is not a string");
        }
        String s = v.asText();
        if (s.isBlank()) {
            throw error("field '" + field + "' is empty");
        }
        return s;
    }

    /**
     * @param problem what is wrong
     * @return an exception naming this row's file and line
     */
    public DataException error(String problem) {
        return new DataException(source, line, problem);
    }
}
