package dev.peft4j.core.task;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.ClassificationBatch;

/**
 * A model that maps a padded batch of texts to class logits, e.g. {@code (ps, b, training) ->
 * bertClassifier.forward(ps, b.inputIds(), b.attentionMask(), b.tokenTypeIds(), training)}.
 */
@FunctionalInterface
public interface SequenceClassifier {

    /**
     * @param ps the parameter store
     * @param batch the inputs
     * @param training whether this is a training pass (dropout on)
     * @return logits {@code [B, numClasses]}
     */
    NDArray logits(ParameterStore ps, ClassificationBatch batch, boolean training);
}
