package dev.peft4j.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link Collective} between threads of one JVM (tests, single-machine runs): one instance per
 * rank from {@link #group}, each used by one thread. A rank that does not arrive within the
 * timeout breaks the group: every waiting rank gets an {@link IllegalStateException}.
 */
public final class InProcessCollective implements Collective {

    private final Group group;
    private final int rank;

    private InProcessCollective(Group group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /**
     * @param worldSize the number of ranks, positive
     * @param timeoutMillis how long a rank waits for the others
     * @return one collective per rank, indexed by rank
     */
    public static List<Collective> group(int worldSize, long timeoutMillis) {
        if (worldSize <= 0) {
            throw new IllegalArgumentException("worldSize must be positive, got " + worldSize);
        }
        Group g = new Group(worldSize, timeoutMillis);
        List<Collective> out = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            out.add(new InProcessCollective(g, r));
        }
        return out;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return group.messages.length;
    }

    @Override
    public List<String> allGather(String message) {
        group.messages[rank] = message;
        group.await(rank);
        List<String> all = List.copyOf(Arrays.asList(group.messages));
        group.await(rank); // nobody overwrites a message before everyone has read it
        return all;
    }

    @Override
    public void barrier() {
        group.await(rank);
    }

    private static final class Group {
        private final String[] messages;
        private final CyclicBarrier barrier;
        private final long timeoutMillis;

        Group(int worldSize, long timeoutMillis) {
            this.messages = new String[worldSize];
            this.barrier = new CyclicBarrier(worldSize);
            this.timeoutMillis = timeoutMillis;
        }

        void await(int rank) {
            try {
                barrier.await(timeoutMillis, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                barrier.reset();
                throw new IllegalStateException("rank " + rank + " interrupted in a collective", e);
            } catch (BrokenBarrierException | TimeoutException e) {
                barrier.reset();
                throw new IllegalStateException("rank " + rank + ": another rank failed or did not arrive within "
                        + timeoutMillis + " ms", e);
            }
        }
    }
}
