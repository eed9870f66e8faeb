package dev.peft4j.spark;

import java.time.Duration;

/**
 * How the ranks of a data-parallel run exchange their gradients ({@link
 * DataParallelArguments#withTransport}). Both sum in rank order, so the trained adapter is the
 * same bit for bit; they differ in cost and in what the network must allow (measured in {@code
 * docs/benchmarks.md}).
 */
public enum Transport {

    /**
     * Through the driver: {@code BarrierTaskContext.allGather} with Base64 text ({@link
     * BarrierCollective}). Needs nothing but Spark's own connections; costs up to a second per
     * call (Spark's barrier RPC polls the coordinator), whatever the size. The timeout is {@code
     * spark.barrier.sync.timeout}.
     */
    BARRIER {
        @Override
        public Collective current(Duration timeout) {
            return BarrierCollective.current();
        }
    },

    /**
     * Directly between the tasks over TCP after one barrier {@code allGather} of their addresses
     * ({@link TcpCollective}): milliseconds per call. Needs TCP between the executors on
     * ephemeral ports.
     */
    TCP {
        @Override
        public Collective current(Duration timeout) {
            return TcpCollective.current(timeout);
        }
    };

    /**
     * @param timeout how long a rank waits without progress for a peer (where the transport has
     *     its own timeout, {@link #BARRIER}: ignored)
     * @return the collective of the barrier task running on this thread, closed when the task ends
     * @throws IllegalStateException when not called inside a barrier task
     */
    public abstract Collective current(Duration timeout);
}
