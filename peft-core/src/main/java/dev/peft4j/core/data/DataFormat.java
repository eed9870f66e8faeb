package dev.peft4j.core.data;

import java.nio.file.Path;
import java.util.Locale;

/** The file formats {@link RecordReader} reads. */
public enum DataFormat {
    /** One JSON object per line ({@code .jsonl}, {@code .ndjson}); blank lines are ignored. */
    JSONL,
    /** Comma-separated values with a header row naming the fields ({@code .csv}). */
    CSV;

    /**
     * The format of a file by its extension.
     *
     * @param file the file
     * @return the format
     * @throws IllegalArgumentException for an unknown extension
     */
    public static DataFormat of(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".json")) {
            return JSONL;
        }
        if (name.endsWith(".csv")) {
            return CSV;
        }
        throw new IllegalArgumentException("cannot tell the format of " + file.getFileName()
                + ": use a .jsonl or .csv file");
    }
}
