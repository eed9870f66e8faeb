package dev.peft4j.spark;

import org.apache.spark.api.java.function.FlatMapFunction;
import scala.collection.JavaConverters;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;

/**
 * A Java partition function as the Scala function {@code RDDBarrier.mapPartitions} takes (there
 * is no {@code JavaRDD.barrier()}); the same code links against Scala 2.12 and 2.13.
 *
 * <pre>{@code
 * RDD<float[]> out = javaRdd.rdd().barrier().mapPartitions(new PartitionFunction<>(rows -> {
 *     Collective c = BarrierCollective.current();
 *     return List.of(c.allReduceSum(new float[] {c.rank()})).iterator();
 * }), false, ClassTag$.MODULE$.apply(float[].class));
 * }</pre>
 *
 * @param <T> the input rows
 * @param <R> the outputs
 */
public final class PartitionFunction<T, R> extends AbstractFunction1<scala.collection.Iterator<T>, scala.collection.Iterator<R>>
        implements Serializable {

    private static final long serialVersionUID = 1L;

    private final FlatMapFunction<java.util.Iterator<T>, R> f;

    /**
     * @param f the function of a partition's rows (serializable, as every Spark closure)
     */
    public PartitionFunction(FlatMapFunction<java.util.Iterator<T>, R> f) {
        this.f = f;
    }

    /**
     * @param rows the partition's rows
     * @return the function's outputs
     */
    @Override
    public scala.collection.Iterator<R> apply(scala.collection.Iterator<T> rows) {
        try {
            return JavaConverters.asScalaIterator(f.call(JavaConverters.asJavaIterator(rows)));
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
