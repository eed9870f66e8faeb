package dev.peft4j.spark;

import java.io.Serializable;

/**
 * What one training task returns to the driver.
 *
 * @param rank the task's rank
 * @param adapter the trained adapter (rank 0 only, else null)
 * @param firstStep steps already made when the task started (resumed from a checkpoint)
 * @param losses the global mean loss of every step the task made
 * @param examples the examples in the task's partition
 * @param stepSeconds time in optimizer steps
 * @param allReduceSeconds time of it in the all-reduce
 * @param parameters trainable values all-reduced per step
 */
record TrainOutput(int rank, AdapterBytes adapter, long firstStep, double[] losses, long examples,
        double stepSeconds, double allReduceSeconds, int parameters) implements Serializable {
}
