package dev.peft4j.spark;

import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Runs a {@link TrainTask} as a barrier stage of one task per worker, repartitioned to one
 * partition before collecting so that Spark retries the stage as a whole (XGBoost4J-Spark's trick:
 * a failed result stage is not retried); the driver side shared by the fine-tuners.
 */
final class BarrierTraining {

    private BarrierTraining() {}

    /**
     * @param input the training rows
     * @param workers the barrier tasks (the data is repartitioned when it has another number)
     * @param task the body of every task
     * @return every rank's output by rank; rank 0's holds the adapter
     * @throws IllegalStateException when rank 0 returned no adapter
     */
    static Stage run(Dataset<Row> input, int workers, TrainTask<?> task) {
        if (input.rdd().getNumPartitions() != workers) {
            input = input.repartition(workers);
        }
        long t0 = System.nanoTime();
        RDD<TrainOutput> trained = input.rdd().barrier().mapPartitions(new PartitionFunction<>(task), false,
                ClassTag$.MODULE$.apply(TrainOutput.class));
        List<TrainOutput> outputs = new ArrayList<>(trained.toJavaRDD().repartition(1).collect());
        double wall = (System.nanoTime() - t0) / 1e9;
        outputs.sort(Comparator.comparingInt(TrainOutput::rank));
        TrainOutput first = outputs.get(0);
        if (first.rank() != 0 || first.adapter() == null) {
            throw new IllegalStateException("the training stage returned no adapter from rank 0");
        }
        return new Stage(outputs, wall);
    }

    /**
     * @param out the output directory to produce
     * @throws IOException when it is a file or a directory that is not empty
     */
    static void requireEmpty(Path out) throws IOException {
        if (Files.isDirectory(out)) {
            try (var s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new FileAlreadyExistsException(out.toString(), null, "output directory is not empty");
                }
            }
        } else if (Files.exists(out)) {
            throw new FileAlreadyExistsException(out.toString(), null, "output path is a file");
        }
    }

    /**
     * What the stage returned.
     *
     * @param outputs every rank's output, by rank
     * @param wallSeconds the driver's time for the stage
     */
    record Stage(List<TrainOutput> outputs, double wallSeconds) {

        /** @return rank 0's output */
        TrainOutput first() {
            return outputs.get(0);
        }

        /** @return the run's summary */
        SparkTrainingResult result() {
            TrainOutput first = first();
            long examples = outputs.stream().mapToLong(TrainOutput::examples).sum();
            return new SparkTrainingResult(outputs.size(), first.firstStep(), first.losses(), examples,
                    first.parameters(), first.stepSeconds(), first.allReduceSeconds(), wallSeconds);
        }
    }
}
