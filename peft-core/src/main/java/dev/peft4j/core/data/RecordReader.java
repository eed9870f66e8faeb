package dev.peft4j.core.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads the rows of a JSONL or CSV file ({@link DataFormat#of}) as {@link DataRecord}s.
 *
 * <p>JSONL: one JSON object per line, blank lines ignored; a line that is not valid JSON or not
 * an object is a bad row. CSV (RFC 4180, via Jackson's CSV module): the header row names the
 * fields, every cell is a string, empty cells count as missing; a row with more cells than the
 * header is a bad row. Bad rows go to the {@link BadRows} policy.
 */
public final class RecordReader {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CsvMapper CSV = new CsvMapper();

    private RecordReader() {}

    /**
     * Reads every row of a file.
     *
     * @param file the file
     * @param badRows what to do with bad rows
     * @return the good rows in file order
     * @throws DataException for a bad row when failing on them, or an empty file
     * @throws IOException when the file cannot be read
     */
    public static List<DataRecord> read(Path file, BadRows badRows) throws IOException {
        DataFormat format = DataFormat.of(file);
        String source = file.getFileName().toString();
        List<DataRecord> out = format == DataFormat.JSONL
                ? readJsonl(file, source, badRows)
                : readCsv(file, source, badRows);
        if (out.isEmpty()) {
            throw new DataException(source, 0, badRows.skipped() > 0
                    ? "no usable rows (" + badRows.skipped() + " bad rows skipped)" : "no rows");
        }
        return out;
    }

    private static List<DataRecord> readJsonl(Path file, String source, BadRows badRows) throws IOException {
        List<DataRecord> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            long lineNo = 0;
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    out.add(new DataRecord(source, lineNo, parseObject(line, source, lineNo)));
                } catch (DataException e) {
                    badRows.handle(e);
                }
            }
        }
        return out;
    }

    private static JsonNode parseObject(String line, String source, long lineNo) throws DataException {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new DataException(source, lineNo, "invalid JSON: " + plain(e.getOriginalMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new DataException(source, lineNo, "not a JSON object");
        }
        return node;
    }

    /** Jackson's message without its source location, which names no file here. */
    private static String plain(String message) {
        return message.replaceAll("\\s*\\(start marker at \\[Source.*$", "").replaceAll("\\s+", " ").trim();
    }

    private static List<DataRecord> readCsv(Path file, String source, BadRows badRows) throws IOException {
        List<DataRecord> out = new ArrayList<>();
        CsvSchema schema = CsvSchema.emptySchema().withHeader();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                MappingIterator<Map<String, String>> it =
                        CSV.readerForMapOf(String.class).with(schema).readValues(r)) {
            while (true) {
                long lineNo = 0;
                try {
                    if (!it.hasNextValue()) {
                        break;
                    }
                    lineNo = it.getParser().currentLocation().getLineNr();
                    Map<String, String> row = it.nextValue();
                    ObjectNode fields = JsonNodeFactory.instance.objectNode();
                    row.forEach((k, v) -> {
                        if (v != null && !v.isEmpty()) {
                            fields.put(k, v);
                        }
                    });
                    out.add(new DataRecord(source, lineNo, fields));
                } catch (JsonProcessingException e) {
                    long at = lineNo > 0 ? lineNo : e.getLocation() == null ? 0 : e.getLocation().getLineNr();
                    badRows.handle(new DataException(source, at, "invalid CSV: " + plain(e.getOriginalMessage())));
                }
            }
        }
        return out;
    }
}
