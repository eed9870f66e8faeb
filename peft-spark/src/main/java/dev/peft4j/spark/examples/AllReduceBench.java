package dev.peft4j.spark.examples;

import dev.peft4j.spark.BarrierCollective;
import dev.peft4j.spark.Collective;
import dev.peft4j.spark.PartitionFunction;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Times {@link Collective#allReduceSum} over {@link BarrierCollective} (Spark's {@code allGather},
 * Base64 float32) for vectors of several sizes: the ranks are first lined up with a barrier, then
 * run {@code --reps} all-reduces back to back, so the time is the transport's, not a straggler's.
 *
 * <pre>
 * java -cp "peft-spark/target/peft-spark.jar:peft-spark/target/lib/*" dev.peft4j.spark.examples.AllReduceBench \
 *     --master local[2] --workers 2 --sizes 74498,1000000,4000000 --reps 10
 * </pre>
 */
public final class AllReduceBench {

    private AllReduceBench() {}

    /**
     * @param args {@code --master M --workers N --sizes P1,P2,… --reps R}
     */
    public static void main(String[] args) {
        int status = 0;
        try {
            run(args);
        } catch (Exception e) {
            e.printStackTrace();
            status = 1;
        }
        // Spark 3.5's barrier tasks leave a non-daemon timer thread ("Barrier task timer for
        // barrier() calls.") in local mode, which would keep the JVM alive after main returns
        System.exit(status);
    }

    private static void run(String[] args) {
        String master = "local[2]";
        int workers = 2;
        String sizes = "74498,1000000,4000000";
        int reps = 10;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--master" -> master = args[i + 1];
                case "--workers" -> workers = Integer.parseInt(args[i + 1]);
                case "--sizes" -> sizes = args[i + 1];
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        SparkSession spark = SparkSession.builder().master(master).appName("peft4j AllReduceBench")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            for (String s : sizes.split(",")) {
                int p = Integer.parseInt(s.trim());
                int r = reps;
                List<Double> ms = jsc.parallelize(IntStream.range(0, workers).boxed().toList(), workers).rdd()
                        .barrier().mapPartitions(new PartitionFunction<>((Iterator<Integer> it) -> {
                            Collective c = BarrierCollective.current();
                            float[] v = new float[p];
                            java.util.Arrays.fill(v, c.rank() + 0.5f);
                            c.allReduceSum(v); // warm-up
                            c.barrier();
                            long t = System.nanoTime();
                            for (int k = 0; k < r; k++) {
                                c.allReduceSum(v);
                            }
                            List<Double> out = new ArrayList<>();
                            out.add((System.nanoTime() - t) / 1e6 / r);
                            return out.iterator();
                        }), false, scala.reflect.ClassTag$.MODULE$.apply(Double.class)).toJavaRDD().collect();
                double worst = ms.stream().mapToDouble(Double::doubleValue).max().orElse(0);
                System.out.printf(Locale.ROOT, "all-reduce of %d float32 (%.2f MB, %.2f MB as Base64 per rank) over %d"
                        + " ranks: %.1f ms%n", p, 4.0 * p / 1e6, 4.0 * p / 3e6 * 4, workers, worst);
            }
        } finally {
            spark.stop();
        }
    }
}
