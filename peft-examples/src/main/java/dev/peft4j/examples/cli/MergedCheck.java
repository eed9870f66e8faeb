package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.ClassificationBatch;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.task.SequenceClassifier;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks an exported model against the model it came from: both classify the first {@value #MAX}
 * examples and the predictions are compared.
 */
final class MergedCheck {

    /** Examples compared. */
    static final int MAX = 100;

    private MergedCheck() {}

    /**
     * @param data the examples
     * @return how many are compared
     */
    static int size(ClassificationDataset data) {
        return Math.min(MAX, data.size());
    }

    /**
     * @param exported the reloaded export
     * @param original the adapted (or merged) model
     * @param data examples
     * @param batchSize examples per forward pass
     * @param manager scratch manager
     * @return the number of examples with the same predicted class
     */
    static int agreement(BertForSequenceClassification exported, SequenceClassifier original,
            ClassificationDataset data, int batchSize, NDManager manager) {
        long[] a = predict(ClassifierModel.classifier(exported), data, batchSize, manager);
        long[] b = predict(original, data, batchSize, manager);
        int same = 0;
        for (int i = 0; i < a.length; i++) {
            same += a[i] == b[i] ? 1 : 0;
        }
        return same;
    }

    private static long[] predict(SequenceClassifier model, ClassificationDataset data, int batchSize,
            NDManager manager) {
        ParameterStore ps = new ParameterStore(manager, false);
        int n = size(data);
        List<Long> out = new ArrayList<>();
        for (int s = 0; s < n; s += batchSize) {
            List<Integer> ids = new ArrayList<>();
            for (int i = s; i < Math.min(n, s + batchSize); i++) {
                ids.add(i);
            }
            try (NDManager sub = manager.newSubManager()) {
                ClassificationBatch b = data.batch(ids, sub);
                Arrays.stream(model.logits(ps, b, false).argMax(1).toLongArray()).forEach(out::add);
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }
}
