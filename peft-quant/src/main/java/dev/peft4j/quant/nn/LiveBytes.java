package dev.peft4j.quant.nn;

/**
 * Counts the tensor bytes a loader holds (Java arrays and NDArrays it created and has not yet
 * released or handed to the model) and remembers the peak. Not thread-safe.
 */
final class LiveBytes {

    private long live;
    private long peak;

    /** Counts {@code bytes} newly held. */
    void hold(long bytes) {
        live += bytes;
        peak = Math.max(peak, live);
    }

    /** Counts {@code bytes} released. */
    void release(long bytes) {
        live -= bytes;
    }

    long live() {
        return live;
    }

    long peak() {
        return peak;
    }
}
