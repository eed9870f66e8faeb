package dev.peft4j.core.task;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/** Evaluation batches: example ids sorted by length, so that each batch needs little padding. */
final class EvalBatches {

    private EvalBatches() {}

    static List<List<Integer>> byLength(int[] lengths, int batchSize) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        Integer[] order = new Integer[lengths.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> lengths[i]).thenComparingInt(i -> i));
        List<List<Integer>> out = new ArrayList<>();
        for (int s = 0; s < order.length; s += batchSize) {
            out.add(List.of(Arrays.copyOfRange(order, s, Math.min(order.length, s + batchSize))));
        }
        return out;
    }
}
