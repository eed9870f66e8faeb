package dev.peft4j.spark;

import org.apache.spark.BarrierTaskContext;

import java.util.Arrays;
import java.util.List;

/**
 * A {@link Collective} over the tasks of a Spark barrier stage: every message goes through {@link
 * BarrierTaskContext#allGather(String)}, whose coordinator on the driver answers every task with
 * all messages indexed by partition, so every rank sums in the same order. Rank = partition id.
 *
 * <p>Cost: the driver receives {@code N} messages of {@code 4P·4/3} bytes and sends {@code N²}
 * per all-reduce ({@code P} values, {@code N} tasks); fine for adapters of up to about a million
 * parameters on up to about eight workers. The time spent in the transport is counted in {@link
 * #nanos()}.
 */
public final class BarrierCollective implements Collective {

    private final BarrierTaskContext context;
    private final int rank;
    private final int worldSize;
    private long nanos;

    /**
     * @param context the context of the running barrier task ({@code BarrierTaskContext.get()})
     */
    public BarrierCollective(BarrierTaskContext context) {
        this.context = context;
        this.rank = context.partitionId();
        this.worldSize = context.getTaskInfos().length;
    }

    /**
     * @return the collective of the barrier task running on this thread
     * @throws IllegalStateException when not called inside a barrier task
     */
    public static BarrierCollective current() {
        try {
            return new BarrierCollective(BarrierTaskContext.get());
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalStateException("not inside a Spark barrier task (rdd.barrier().mapPartitions)", e);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    @Override
    public List<String> allGather(String message) {
        long t = System.nanoTime();
        try {
            return Arrays.asList(context.allGather(message));
        } finally {
            nanos += System.nanoTime() - t;
        }
    }

    @Override
    public void barrier() {
        long t = System.nanoTime();
        try {
            context.barrier();
        } finally {
            nanos += System.nanoTime() - t;
        }
    }

    /** @return nanoseconds spent waiting in {@code allGather} and {@code barrier} so far */
    public long nanos() {
        return nanos;
    }
}
