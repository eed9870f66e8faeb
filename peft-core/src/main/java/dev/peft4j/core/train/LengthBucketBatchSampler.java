package dev.peft4j.core.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Length-bucketed batches that keep padding low: every epoch the ids are permuted, cut into
 * chunks of {@code batchSize × chunkBatches}, each chunk is sorted by length (longest first) and
 * cut into batches, and the batches are shuffled. Batches therefore hold examples of similar
 * length while the order stays random.
 */
public final class LengthBucketBatchSampler implements BatchSampler {

    private final int[] lengths;
    private final int batchSize;
    private final int chunkBatches;
    private final boolean dropLast;

    /**
     * @param lengths the length of every example (e.g. tokens), indexed by id; not empty
     * @param batchSize examples per batch, positive
     * @param chunkBatches batches per sorting chunk, positive (larger: less padding, less
     *     randomness)
     * @param dropLast whether to drop batches smaller than {@code batchSize}
     */
    public LengthBucketBatchSampler(int[] lengths, int batchSize, int chunkBatches, boolean dropLast) {
        if (lengths == null || lengths.length == 0) {
            throw new IllegalArgumentException("lengths must not be empty");
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        if (chunkBatches <= 0) {
            throw new IllegalArgumentException("chunkBatches must be positive, got " + chunkBatches);
        }
        if (dropLast && batchSize > lengths.length) {
            throw new IllegalArgumentException("batchSize " + batchSize + " exceeds size "
                    + lengths.length + " with dropLast: no batches");
        }
        this.lengths = lengths.clone();
        this.batchSize = batchSize;
        this.chunkBatches = chunkBatches;
        this.dropLast = dropLast;
    }

    @Override
    public List<List<Integer>> batches(long seed, int epoch) {
        StepRandom random = StepRandom.of(seed, StepRandom.STREAM_SHUFFLE, epoch);
        int[] order = random.permutation(lengths.length);
        int chunk = batchSize * chunkBatches;
        List<List<Integer>> batches = new ArrayList<>();
        for (int start = 0; start < order.length; start += chunk) {
            Integer[] ids = Arrays.stream(order, start, Math.min(order.length, start + chunk))
                    .boxed().toArray(Integer[]::new);
            Arrays.sort(ids, Comparator.comparingInt((Integer i) -> lengths[i]).reversed());
            for (int b = 0; b < ids.length; b += batchSize) {
                int end = Math.min(ids.length, b + batchSize);
                if (dropLast && end - b < batchSize) {
                    break;
                }
                batches.add(List.of(Arrays.copyOfRange(ids, b, end)));
            }
        }
        int[] batchOrder = random.permutation(batches.size());
        List<List<Integer>> out = new ArrayList<>(batches.size());
        for (int i : batchOrder) {
            out.add(batches.get(i));
        }
        return List.copyOf(out);
    }

    @Override
    public int batchCount() {
        int n = lengths.length;
        int chunk = batchSize * chunkBatches;
        int full = n / chunk;
        int rest = n % chunk;
        int perChunk = chunkBatches;
        int restBatches = dropLast ? rest / batchSize : (rest + batchSize - 1) / batchSize;
        return full * perChunk + restBatches;
    }

    @Override
    public String toString() {
        return "LengthBucketBatchSampler(size=" + lengths.length + ", batchSize=" + batchSize
                + ", chunkBatches=" + chunkBatches + ", dropLast=" + dropLast + ")";
    }
}
