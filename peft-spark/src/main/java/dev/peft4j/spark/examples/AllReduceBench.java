package dev.peft4j.spark.examples;

import dev.peft4j.spark.Collective;
import dev.peft4j.spark.PartitionFunction;
import dev.peft4j.spark.Transport;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Times {@link Collective#allReduceSum} over the {@link Transport}s ({@link Transport#BARRIER}:
 * Spark's {@code allGather} with Base64 float32 through the driver; {@link Transport#TCP}: binary
 * float32 directly between the tasks) for vectors of several sizes. For every size the transports
 * take turns ({@code --rounds} times each, one barrier stage per turn); in a stage the ranks are
 * first lined up with a barrier, then run {@code --reps} all-reduces back to back, so the time is
 * the transport's, not a straggler's. The TCP connection set-up (one barrier {@code allGather} of
 * the addresses, then the connections) is timed apart, and every line prints a hash of the sum,
 * the same for both transports (both sum in rank order).
 *
 * <pre>
 * java -cp "peft-spark/target/peft-spark.jar:peft-spark/target/lib/*" dev.peft4j.spark.examples.AllReduceBench \
 *     --master local[2] --workers 2 --sizes 74498,1000000,4000000 --reps 10 --transport barrier,tcp --rounds 2
 * </pre>
 */
public final class AllReduceBench {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private AllReduceBench() {}

    /**
     * @param args {@code --master M --workers N --sizes P1,P2,… --reps R --transport barrier|tcp|barrier,tcp
     *     --rounds K}
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
        String transports = "barrier,tcp";
        int rounds = 1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--master" -> master = args[i + 1];
                case "--workers" -> workers = Integer.parseInt(args[i + 1]);
                case "--sizes" -> sizes = args[i + 1];
                case "--reps" -> reps = Integer.parseInt(args[i + 1]);
                case "--transport" -> transports = args[i + 1];
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<Transport> order = new ArrayList<>();
        for (String t : transports.split(",")) {
            order.add(Transport.valueOf(t.trim().toUpperCase(Locale.ROOT)));
        }
        SparkSession spark = SparkSession.builder().master(master).appName("peft4j AllReduceBench")
                .config("spark.ui.enabled", "false").getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            for (String s : sizes.split(",")) {
                int p = Integer.parseInt(s.trim());
                for (int round = 0; round < rounds; round++) {
                    for (Transport t : order) {
                        double[] worst = time(jsc, workers, p, reps, t);
                        System.out.printf(Locale.ROOT, "%-7s all-reduce of %d float32 (%.2f MB per rank) over %d"
                                + " ranks: %.1f ms (set-up %.0f ms, sum hash %08x)%n", t, p,
                                (t == Transport.BARRIER ? 16.0 / 3 : 4.0) * p / 1e6, workers, worst[0], worst[1],
                                (int) worst[2]);
                    }
                }
            }
        } finally {
            spark.stop();
        }
    }

    /** @return the slower rank's mean ms per all-reduce, its set-up ms, and the sum's hash */
    private static double[] time(JavaSparkContext jsc, int workers, int p, int reps, Transport transport) {
        List<double[]> ms = jsc.parallelize(IntStream.range(0, workers).boxed().toList(), workers).rdd()
                .barrier().mapPartitions(new PartitionFunction<>((Iterator<Integer> it) -> {
                    long t0 = System.nanoTime();
                    try (Collective c = transport.current(TIMEOUT)) {
                        double setup = (System.nanoTime() - t0) / 1e6;
                        float[] v = new float[p];
                        for (int i = 0; i < p; i++) {
                            v[i] = (c.rank() + 1) * (i % 1000) / 1000f;
                        }
                        float[] sum = c.allReduceSum(v); // warm-up
                        c.barrier();
                        long t = System.nanoTime();
                        for (int k = 0; k < reps; k++) {
                            c.allReduceSum(v);
                        }
                        double per = (System.nanoTime() - t) / 1e6 / reps;
                        return List.of(new double[] {per, setup, Arrays.hashCode(sum)}).iterator();
                    }
                }), false, scala.reflect.ClassTag$.MODULE$.apply(double[].class)).toJavaRDD().collect();
        double[] worst = ms.get(0).clone();
        for (double[] m : ms) {
            if (m[2] != worst[2]) {
                throw new IllegalStateException(transport + ": the ranks' sums differ");
            }
            worst[0] = Math.max(worst[0], m[0]);
            worst[1] = Math.max(worst[1], m[1]);
        }
        return worst;
    }
}
