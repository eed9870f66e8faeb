package dev.peft4j.spark;

import java.util.List;

/**
 * The negative control: a collective that stays in lockstep with the others but returns each
 * rank's own vector from the all-reduce, as if it were switched off.
 */
final class NoReduce implements Collective {

    private final Collective inner;

    NoReduce(Collective inner) {
        this.inner = inner;
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int worldSize() {
        return inner.worldSize();
    }

    @Override
    public List<String> allGather(String message) {
        return inner.allGather(message);
    }

    @Override
    public float[] allReduceSum(float[] values) {
        inner.barrier();
        return values.clone();
    }

    @Override
    public void barrier() {
        inner.barrier();
    }

    @Override
    public void close() {
        inner.close();
    }
}
