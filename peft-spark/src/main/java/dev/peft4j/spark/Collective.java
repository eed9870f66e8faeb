package dev.peft4j.spark;

import java.util.List;

/**
 * The collective operations of data-parallel training between {@link #worldSize()} ranks that
 * run the same program in lockstep.
 *
 * <p>{@link #allReduceSum} returns on every rank {@code Σ_r values_r}, summed in rank order
 * {@code ((v_0 + v_1) + v_2) + …} in float32, so every rank gets bit-identical results and
 * replicas updated from them stay bit-identical. Every rank must make the same calls in the same
 * order (a rank that calls less makes the others wait until the transport's timeout). {@link
 * #close()} releases what the transport holds (sockets); the default holds nothing.
 */
public interface Collective extends AutoCloseable {

    /** @return this rank, {@code 0 ≤ rank < worldSize} */
    int rank();

    /** @return the number of ranks */
    int worldSize();

    /**
     * Sends one message and receives every rank's, the primitive the others are built on.
     *
     * @param message this rank's message
     * @return every rank's message, indexed by rank
     */
    List<String> allGather(String message);

    /**
     * Sums a vector over the ranks in rank order.
     *
     * @param values this rank's vector; every rank passes the same length
     * @return the sum, bit-identical on every rank
     * @throws IllegalStateException when the ranks' lengths differ
     */
    default float[] allReduceSum(float[] values) {
        List<String> all = allGather(Float32Base64.encode(values));
        float[][] vectors = new float[all.size()][];
        for (int r = 0; r < vectors.length; r++) {
            vectors[r] = Float32Base64.decode(all.get(r));
        }
        return sumInRankOrder(vectors);
    }

    /**
     * The mean over the ranks: {@link #allReduceSum} divided by {@link #worldSize()}.
     *
     * @param values this rank's vector
     * @return the mean, bit-identical on every rank
     */
    default float[] allReduceMean(float[] values) {
        float[] sum = allReduceSum(values);
        float n = worldSize();
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= n;
        }
        return sum;
    }

    /**
     * @param value this rank's number
     * @return every rank's number, indexed by rank
     */
    default long[] allGatherLong(long value) {
        List<String> all = allGather(Long.toString(value));
        long[] out = new long[all.size()];
        for (int r = 0; r < out.length; r++) {
            out[r] = Long.parseLong(all.get(r));
        }
        return out;
    }

    /** Waits until every rank has called it. */
    void barrier();

    /** Releases the transport's resources; idempotent. The default has none. */
    @Override
    default void close() {}

    /**
     * This rank failed: tells the peers why where the transport can ({@link TcpCollective} sends
     * the error, so a peer waiting in a call reports it), then closes. The default only closes.
     *
     * @param error what this rank failed with
     */
    default void abort(Throwable error) {
        close();
    }

    /**
     * Sums vectors in rank order, {@code ((v_0 + v_1) + v_2) + …}, in float32.
     *
     * @param vectors one vector per rank, all of one length
     * @return the sum
     * @throws IllegalStateException naming the rank whose length differs
     */
    static float[] sumInRankOrder(float[][] vectors) {
        float[] sum = vectors[0].clone();
        for (int r = 1; r < vectors.length; r++) {
            float[] v = vectors[r];
            if (v.length != sum.length) {
                throw new IllegalStateException("all-reduce: rank " + r + " sent " + v.length
                        + " values, rank 0 sent " + sum.length);
            }
            for (int i = 0; i < sum.length; i++) {
                sum[i] += v[i];
            }
        }
        return sum;
    }
}
