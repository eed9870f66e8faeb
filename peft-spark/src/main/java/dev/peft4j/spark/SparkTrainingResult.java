package dev.peft4j.spark;

/**
 * What {@link SparkFineTuner#fit} did.
 *
 * @param workers the number of data-parallel workers (barrier tasks)
 * @param firstStep steps already made when the run started (resumed from a checkpoint), else 0
 * @param losses the global mean training loss of every step made by this run, in order
 * @param examples training examples over all partitions
 * @param trainableParameters values all-reduced per step
 * @param stepSeconds rank 0's time in optimizer steps
 * @param allReduceSeconds rank 0's time of it in the all-reduce
 * @param wallSeconds the driver's time for the whole training stage
 */
public record SparkTrainingResult(int workers, long firstStep, double[] losses, long examples,
        int trainableParameters, double stepSeconds, double allReduceSeconds, double wallSeconds) {

    /** @return the number of the last step made */
    public long finalStep() {
        return firstStep + losses.length;
    }

    /** @return the all-reduce's share of step time on rank 0, in [0, 1] */
    public double allReduceShare() {
        return stepSeconds > 0 ? allReduceSeconds / stepSeconds : 0;
    }
}
