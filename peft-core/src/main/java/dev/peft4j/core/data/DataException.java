package dev.peft4j.core.data;

import java.io.IOException;

/**
 * A data file row that cannot be used, with the file and line it came from: {@code train.jsonl
 * line 17: missing field 'label'}. Line numbers are 1-based and count physical lines (the header of
 * a CSV file is line 1).
 */
public class DataException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String source;
    private final long line;
    private final String problem;

    /**
     * @param source the file name, e.g. {@code train.jsonl}
     * @param line the 1-based line number, or 0 when the problem concerns the whole file
     * @param problem what is wrong, e.g. {@code missing field 'label'}
     */
    public DataException(String source, long line, String problem) {
        super(line > 0 ? source + " line " + line + ": " + problem : source + ": " + problem);
        this.source = source;
        this.line = line;
        this.problem = problem;
    }

    /** @return the file name */
    public String source() {
        return source;
    }

    /** @return the 1-based line number, 0 for the whole file */
    public long line() {
        return line;
    }

    /** @return the problem without the location */
    public String problem() {
        return problem;
    }
}
