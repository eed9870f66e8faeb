package dev.peft4j.core.train;

import java.nio.file.Path;

/**
 * Thrown when a step produces a non-finite loss or gradient norm. The parameters are left as they
 * were after the previous step (the bad update is not applied) and existing checkpoints are
 * untouched.
 */
public final class TrainingDivergedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final long step;
    private final String quantity;
    private final double value;
    private final transient Path lastCheckpoint;

    /**
     * @param step the 1-based step that diverged
     * @param quantity what was not finite, e.g. {@code loss}
     * @param value the offending value
     * @param lastCheckpoint the newest complete checkpoint, or null when there is none
     */
    public TrainingDivergedException(long step, String quantity, double value, Path lastCheckpoint) {
        super("training diverged at step " + step + ": " + quantity + " is " + value
                + (lastCheckpoint == null ? " (no checkpoint yet)" : " (last good checkpoint: " + lastCheckpoint + ")"));
        this.step = step;
        this.quantity = quantity;
        this.value = value;
        this.lastCheckpoint = lastCheckpoint;
    }

    /** @return the 1-based step that diverged */
    public long step() {
        return step;
    }

    /** @return what was not finite ({@code loss} or {@code gradient norm}) */
    public String quantity() {
        return quantity;
    }

    /** @return the offending value */
    public double value() {
        return value;
    }

    /** @return the newest complete checkpoint, or null */
    public Path lastCheckpoint() {
        return lastCheckpoint;
    }
}
