package dev.peft4j.spark;

import dev.peft4j.core.nn.Module;
import dev.peft4j.core.train.TrainStep;
import org.apache.spark.sql.Row;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;

/**
 * What a data-parallel run trains, shipped to every barrier task: the frozen base, how a
 * partition's rows become a {@link TrainStep}, and what the step's loss is a mean over.
 *
 * @param <M> the base model's type
 */
interface TrainObjective<M extends Module> extends Serializable {

    /** @return where every executor loads the frozen base */
    ModelSource<M> source();

    /**
     * @param base the base (already wrapped with the adapter), with its tokenizer
     * @param rows this partition's rows
     * @return the loss of a batch of row indices
     * @throws IOException when a row is bad
     */
    TrainStep step(M base, List<Row> rows) throws IOException;

    /** @return examples (classification) or trained tokens (causal LM) */
    DataParallelLoop.Normalization normalization();
}
