package dev.peft4j.spark;

import org.apache.spark.api.java.function.FlatMapFunction;
import scala.collection.JavaConverters;
import scala.runtime.AbstractFunction1;

import java.io.Serializable;

/**
 * A Java partition function as the Scala function {@code RDDBarrier.mapPartitions} takes (there
 * is no {@code JavaRDD.barrier()}); the same code links against Scala 2.12 and 2.13.
 *
 * @param <T> the input rows
 * @param <R> the outputs
 */
final class PartitionFunction<T, R> extends AbstractFunction1<scala.collection.Iterator<T>, scala.collection.Iterator<R>>
        implements Serializable {

    private static final long serialVersionUID = 1L;

    private final FlatMapFunction<java.util.Iterator<T>, R> f;

    PartitionFunction(FlatMapFunction<java.util.Iterator<T>, R> f) {
        this.f = f;
    }

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
