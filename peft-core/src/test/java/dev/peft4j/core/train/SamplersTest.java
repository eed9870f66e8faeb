package dev.peft4j.core.train;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplersTest {

    @Test
    void stepRandomIsSplitMix64() {
        // The first SplitMix64 output for seed 0.
        assertEquals(0xE220A8397B1DCDAFL, StepRandom.derive(0));
        assertNotEquals(StepRandom.derive(1, 2, 3), StepRandom.derive(1, 3, 2));
        assertEquals(StepRandom.of(9, 1).nextLong(), StepRandom.of(9, 1).nextLong());
        int[] p = StepRandom.of(3).permutation(100);
        int[] sorted = p.clone();
        java.util.Arrays.sort(sorted);
        assertEquals(IntStream.range(0, 100).boxed().toList(), IntStream.of(sorted).boxed().toList());
        double d = StepRandom.of(5).nextDouble();
        assertTrue(d >= 0 && d < 1);
    }

    private static List<Integer> flat(List<List<Integer>> batches) {
        List<Integer> out = new ArrayList<>();
        batches.forEach(out::addAll);
        return out;
    }

    @Test
    void randomBatchesCoverTheDataAndDependOnSeedAndEpoch() {
        RandomBatchSampler s = new RandomBatchSampler(10, 4, true, false);
        List<List<Integer>> e0 = s.batches(42, 0);
        assertEquals(3, e0.size());
        assertEquals(3, s.batchCount());
        assertEquals(List.of(4, 4, 2), e0.stream().map(List::size).toList());
        List<Integer> all = flat(e0);
        Collections.sort(all);
        assertEquals(IntStream.range(0, 10).boxed().toList(), all);
        assertEquals(e0, s.batches(42, 0));
        assertNotEquals(e0, s.batches(42, 1));
        assertNotEquals(e0, s.batches(43, 0));
        assertEquals(BatchSampler.fingerprint(e0), BatchSampler.fingerprint(s.batches(42, 0)));
        assertNotEquals(BatchSampler.fingerprint(e0), BatchSampler.fingerprint(s.batches(42, 1)));

        RandomBatchSampler ordered = new RandomBatchSampler(5, 2, false, true);
        assertEquals(List.of(List.of(0, 1), List.of(2, 3)), ordered.batches(1, 7));
        assertEquals(2, ordered.batchCount());
        assertEquals("batchSize must be positive, got 0", assertThrows(IllegalArgumentException.class,
                () -> new RandomBatchSampler(5, 0, true, false)).getMessage());
    }

    @Test
    void lengthBucketsGroupSimilarLengths() {
        int[] lengths = new int[40];
        StepRandom r = StepRandom.of(1);
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = 1 + r.nextInt(200);
        }
        LengthBucketBatchSampler s = new LengthBucketBatchSampler(lengths, 4, 10, false);
        List<List<Integer>> batches = s.batches(42, 0);
        assertEquals(10, batches.size());
        assertEquals(10, s.batchCount());
        List<Integer> all = flat(batches);
        Collections.sort(all);
        assertEquals(IntStream.range(0, 40).boxed().toList(), all);
        // One chunk holds everything: batches are consecutive runs of the length-sorted ids.
        List<Integer> sortedLengths = IntStream.of(lengths).boxed().sorted(Collections.reverseOrder()).toList();
        List<List<Integer>> byLength = new ArrayList<>();
        for (List<Integer> b : batches) {
            byLength.add(b.stream().map(i -> lengths[i]).toList());
        }
        byLength.sort((x, y) -> Integer.compare(y.get(0), x.get(0)) != 0
                ? Integer.compare(y.get(0), x.get(0)) : Integer.compare(y.size(), x.size()));
        assertEquals(sortedLengths, flat(byLength));
        assertEquals(batches, s.batches(42, 0));
        assertNotEquals(batches, s.batches(42, 1));

        for (int n : new int[] {1, 7, 23, 41}) {
            for (boolean dropLast : new boolean[] {false, true}) {
                if (dropLast && n < 3) {
                    continue;
                }
                LengthBucketBatchSampler t = new LengthBucketBatchSampler(new int[n], 3, 2, dropLast);
                assertEquals(t.batches(5, 0).size(), t.batchCount(), "n=" + n + " dropLast=" + dropLast);
            }
        }
    }
}
