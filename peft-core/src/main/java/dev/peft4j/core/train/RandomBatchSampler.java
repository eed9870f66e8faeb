package dev.peft4j.core.train;

import java.util.ArrayList;
import java.util.List;

/**
 * Batches of consecutive ids from a per-epoch seeded permutation of {@code 0..size-1} (or in order
 * when shuffling is off), like PyTorch's {@code DataLoader(shuffle=True)}.
 */
public final class RandomBatchSampler implements BatchSampler {

    private final int size;
    private final int batchSize;
    private final boolean shuffle;
    private final boolean dropLast;

    /**
     * @param size the number of examples, positive
     * @param batchSize examples per batch, positive
     * @param shuffle whether to permute the ids every epoch
     * @param dropLast whether to drop a final batch smaller than {@code batchSize}
     */
    public RandomBatchSampler(int size, int batchSize, boolean shuffle, boolean dropLast) {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive, got " + size);
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        if (dropLast && batchSize > size) {
            throw new IllegalArgumentException(
                    "batchSize " + batchSize + " exceeds size " + size + " with dropLast: no batches");
        }
        this.size = size;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.dropLast = dropLast;
    }

    @Override
    public List<List<Integer>> batches(long seed, int epoch) {
        int[] order = shuffle ? StepRandom.of(seed, StepRandom.STREAM_SHUFFLE, epoch).permutation(size)
                : identity(size);
        return split(order, batchSize, dropLast);
    }

    @Override
    public int batchCount() {
        return dropLast ? size / batchSize : (size + batchSize - 1) / batchSize;
    }

    static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        return p;
    }

    static List<List<Integer>> split(int[] order, int batchSize, boolean dropLast) {
        List<List<Integer>> out = new ArrayList<>();
        for (int start = 0; start < order.length; start += batchSize) {
            int end = Math.min(order.length, start + batchSize);
            if (dropLast && end - start < batchSize) {
                break;
            }
            List<Integer> batch = new ArrayList<>(end - start);
            for (int i = start; i < end; i++) {
                batch.add(order[i]);
            }
            out.add(List.copyOf(batch));
        }
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return "RandomBatchSampler(size=" + size + ", batchSize=" + batchSize + ", shuffle=" + shuffle
                + ", dropLast=" + dropLast + ")";
    }
}
