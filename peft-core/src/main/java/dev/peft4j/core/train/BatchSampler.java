package dev.peft4j.core.train;

import java.util.List;

/**
 * Splits a dataset of example ids into the batches of one epoch.
 *
 * <p>The order must be a pure function of {@code (seed, epoch)} and every epoch must have the same
 * number of batches: resuming recomputes the order of the interrupted epoch from the run seed and
 * checks it against a fingerprint stored in the checkpoint.
 */
public interface BatchSampler {

    /**
     * The batches of one epoch.
     *
     * @param seed the run seed
     * @param epoch the epoch, 0-based
     * @return the batches in training order; each a non-empty list of example ids
     */
    List<List<Integer>> batches(long seed, int epoch);

    /** @return the number of batches in every epoch */
    int batchCount();

    /**
     * An order fingerprint of one epoch (FNV-1a over the ids and batch boundaries), stored in
     * checkpoints to detect a changed dataset or sampler on resume.
     *
     * @param batches the batches of an epoch
     * @return the fingerprint as 16 hex digits
     */
    static String fingerprint(List<List<Integer>> batches) {
        long h = 0xcbf29ce484222325L;
        for (List<Integer> batch : batches) {
            for (int id : batch) {
                h = (h ^ id) * 0x100000001b3L;
            }
            h = (h ^ -1L) * 0x100000001b3L;
        }
        return String.format("%016x", h);
    }
}
