package dev.peft4j.core.data;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What to do with rows that cannot be used: fail on the first ({@link #fail()}, the default) or
 * skip them, counting and logging each ({@link #skip()}). One instance collects the skips of one
 * file.
 */
public final class BadRows {

    private static final Logger LOG = LoggerFactory.getLogger(BadRows.class);

    /** How many messages of skipped rows are kept for {@link #examples()}. */
    public static final int KEPT_EXAMPLES = 10;

    private final boolean skip;
    private final List<String> examples = new ArrayList<>();
    private int skipped;

    private BadRows(boolean skip) {
        this.skip = skip;
    }

    /** @return a policy that throws on the first bad row */
    public static BadRows fail() {
        return new BadRows(false);
    }

    /** @return a policy that skips bad rows, counting them */
    public static BadRows skip() {
        return new BadRows(true);
    }

    /**
     * @param skip whether to skip bad rows
     * @return {@link #skip()} or {@link #fail()}
     */
    public static BadRows of(boolean skip) {
        return skip ? skip() : fail();
    }

    /** @return whether bad rows are skipped */
    public boolean skipping() {
        return skip;
    }

    /**
     * Handles a bad row: rethrows it, or logs and counts it.
     *
     * @param e the row's problem
     * @throws DataException when failing on bad rows
     */
    public void handle(DataException e) throws DataException {
        if (!skip) {
            throw e;
        }
        skipped++;
        if (examples.size() < KEPT_EXAMPLES) {
            examples.add(e.getMessage());
        }
        LOG.warn("skipping bad row: {}", e.getMessage());
    }

    /** @return the number of rows skipped */
    public int skipped() {
        return skipped;
    }

    /** @return the messages of the first {@value #KEPT_EXAMPLES} skipped rows */
    public List<String> examples() {
        return Collections.unmodifiableList(examples);
    }
}
