package dev.peft4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import scala.reflect.ClassTag$;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** {@link Collective}: both barrier-task transports in {@code local[2]} and the in-process one. */
class CollectiveTest {

    private static final float[][] VECTORS = {
        {1f, 2f, 0.1f, -3f, 1e-8f},
        {3f, -2f, 0.2f, 5f, 1f},
    };

    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start("local[2]", 1);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** The mean by hand: (v0 + v1) / 2 in float32. */
    private static float[] expectedMean() {
        float[] m = new float[VECTORS[0].length];
        for (int i = 0; i < m.length; i++) {
            m[i] = (VECTORS[0][i] + VECTORS[1][i]) / 2f;
        }
        return m;
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void allReduceGivesTheMeanBitIdenticalOnBothRanks(Transport transport) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        JavaRDD<Integer> ranks = jsc.parallelize(List.of(0, 1), 2);
        List<float[]> out = ranks.rdd().barrier().mapPartitions(new PartitionFunction<Integer, float[]>(
                (Iterator<Integer> it) -> {
                    Collective c = transport.current(Duration.ofSeconds(30));
                    assertEquals(2, c.worldSize());
                    float[] mean = c.allReduceMean(VECTORS[c.rank()]);
                    long[] sizes = c.allGatherLong(10L + c.rank());
                    assertArrayEquals(new long[] {10, 11}, sizes);
                    c.barrier();
                    return List.of(mean).iterator();
                }), false, ClassTag$.MODULE$.apply(float[].class)).toJavaRDD().collect();
        assertEquals(2, out.size());
        assertArrayEquals(new float[] {2f, 0f, 0.15f, 1f, 0.5f}, out.get(0), 1e-7f);
        assertArrayEquals(expectedMean(), out.get(0)); // exact: (v0 + v1) / 2 in float32
        for (int i = 0; i < out.get(0).length; i++) {
            assertEquals(Float.floatToRawIntBits(out.get(0)[i]), Float.floatToRawIntBits(out.get(1)[i]));
        }
    }

    /** The TCP collectives the tasks opened (tasks are threads of this JVM in local mode). */
    private static final Queue<TcpCollective> OPENED = new ConcurrentLinkedQueue<>();

    @Test
    void tcpConnectionsAreClosedWhenTheTaskEndsEvenIfTheCodeForgetsTo() {
        OPENED.clear();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Boolean> openInTask = jsc.parallelize(List.of(0, 1), 2).rdd().barrier().mapPartitions(
                new PartitionFunction<Integer, Boolean>((Iterator<Integer> it) -> {
                    TcpCollective c = TcpCollective.current(Duration.ofSeconds(30));
                    OPENED.add(c);
                    c.allReduceSum(new float[] {1f});
                    return List.of(!c.isClosed()).iterator(); // not closed by the task's code
                }), false, ClassTag$.MODULE$.apply(Boolean.class)).toJavaRDD().collect();
        assertEquals(List.of(true, true), openInTask);
        assertEquals(2, OPENED.size());
        for (TcpCollective c : OPENED) {
            assertTrue(c.isClosed(), "closed by the task completion listener");
        }
    }

    @Test
    void barrierContextIsRequired() {
        assertThrows(IllegalStateException.class, BarrierCollective::current);
        assertThrows(IllegalStateException.class, () -> Transport.TCP.current(Duration.ofSeconds(1)));
        assertTrue(BarrierTaskContext.class.getName().startsWith("org.apache.spark"));
    }

    @Test
    void inProcessAllReduceSumsInRankOrder() throws Exception {
        List<Collective> group = InProcessCollective.group(2, 10_000);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<float[]>> f = new ArrayList<>();
            for (Collective c : group) {
                f.add(pool.submit(() -> c.allReduceMean(VECTORS[c.rank()])));
            }
            assertArrayEquals(expectedMean(), f.get(0).get());
            assertArrayEquals(f.get(0).get(), f.get(1).get());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rankOrderSumIsNotReordered() {
        // (1e8 + -1e8) + 1 = 1, whereas 1e8 + (-1e8 + 1) = 0 in float32: the order is fixed
        float[] sum = Collective.sumInRankOrder(new float[][] {{1e8f}, {-1e8f}, {1f}});
        assertEquals(1f, sum[0]);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Collective.sumInRankOrder(new float[][] {{1f, 2f}, {1f}}));
        assertEquals("all-reduce: rank 1 sent 1 values, rank 0 sent 2", e.getMessage());
    }

    @Test
    void inProcessRankThatNeverArrivesTimesOut() {
        List<Collective> group = InProcessCollective.group(2, 200);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> group.get(0).barrier());
        assertTrue(e.getMessage().contains("did not arrive within 200 ms"), e.getMessage());
    }

    @Test
    void float32Base64RoundTrips() {
        float[] v = {Float.MIN_VALUE, -0f, Float.NaN, 3.25f};
        assertArrayEquals(v, Float32Base64.decode(Float32Base64.encode(v)));
    }
}
