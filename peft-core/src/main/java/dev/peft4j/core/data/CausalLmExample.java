package dev.peft4j.core.data;

import java.util.Arrays;

/**
 * One causal-LM training sequence: token ids and, per position, the label ({@link
 * CausalLmExample#IGNORE} where no loss is taken). Labels are aligned with the ids, not shifted:
 * the loss predicts {@code labels[t]} from the positions before {@code t}.
 *
 * @param ids token ids
 * @param labels the id to predict at each position, or {@link #IGNORE}
 */
public record CausalLmExample(long[] ids, long[] labels) {

    /** The label of positions without loss (PyTorch's {@code ignore_index}). */
    public static final long IGNORE = -100;

    /** Checks the lengths; copies the arrays. */
    public CausalLmExample {
        if (ids.length != labels.length) {
            throw new IllegalArgumentException("ids and labels differ in length: " + ids.length + " vs "
                    + labels.length);
        }
        ids = ids.clone();
        labels = labels.clone();
    }

    /** @return the ids (a copy) */
    @Override
    public long[] ids() {
        return ids.clone();
    }

    /** @return the labels (a copy) */
    @Override
    public long[] labels() {
        return labels.clone();
    }

    /** @return the number of tokens */
    public int length() {
        return ids.length;
    }

    /** @return the number of positions after the first with a label: the tokens the loss covers */
    public int targetCount() {
        int n = 0;
        for (int t = 1; t < labels.length; t++) {
            n += labels[t] != IGNORE ? 1 : 0;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CausalLmExample e && Arrays.equals(ids, e.ids) && Arrays.equals(labels, e.labels);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(ids) + Arrays.hashCode(labels);
    }

    @Override
    public String toString() {
        return "CausalLmExample(ids=" + Arrays.toString(ids) + ", labels=" + Arrays.toString(labels) + ")";
    }
}
