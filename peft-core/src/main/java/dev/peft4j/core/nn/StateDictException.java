package dev.peft4j.core.nn;

/** Thrown by a strict state-dict load whose checkpoint does not match the module tree. */
public class StateDictException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient StateDictReport report;

    /**
     * @param where what was being loaded, e.g. a path
     * @param report the mismatches
     */
    public StateDictException(String where, StateDictReport report) {
        super("state dict from " + where + " does not match the model, nothing was loaded" + report.problems());
        this.report = report;
    }

    /** @return the full report */
    public StateDictReport report() {
        return report;
    }
}
