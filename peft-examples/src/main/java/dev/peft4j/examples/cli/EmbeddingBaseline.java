package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.data.ClassificationBatch;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.task.ClassificationMetrics;
import dev.peft4j.core.task.LinearProbe;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The frozen-encoder baseline: mean-pooled embeddings of the untouched encoder, computed once, and
 * a logistic-regression head ({@link LinearProbe}) trained on them alone.
 */
final class EmbeddingBaseline {

    /** L2 penalty of the head (on standardized features). */
    static final double L2 = 1e-3;
    /** Full-batch steps of the head. */
    static final int ITERATIONS = 300;

    private EmbeddingBaseline() {}

    /**
     * Runs the baseline on a separate copy of the encoder, loaded into its own manager and freed
     * afterwards, so that nothing of the baseline's inference touches the model to be fine-tuned.
     *
     * @param files the model files
     * @param train training examples
     * @param test test examples (same label set)
     * @param batchSize texts per forward pass
     * @return test metrics of the head
     * @throws IOException when the weights cannot be read
     */
    static ClassificationMetrics run(ModelFiles files, ClassificationDataset train, ClassificationDataset test,
            int batchSize) throws IOException {
        try (NDManager manager = NDManager.newBaseManager();
                TensorSource weights = files.openWeights()) {
            BertModel encoder = BertModel.load(weights, files.config(), manager);
            return run(encoder, train, test, batchSize, manager);
        }
    }

    /**
     * @param encoder the frozen encoder
     * @param train training examples
     * @param test test examples (same label set)
     * @param batchSize texts per forward pass
     * @param manager scratch manager
     * @return test metrics of the head
     */
    static ClassificationMetrics run(BertModel encoder, ClassificationDataset train, ClassificationDataset test,
            int batchSize, NDManager manager) {
        float[][] trainX = embed(encoder, train, batchSize, manager);
        float[][] testX = embed(encoder, test, batchSize, manager);
        LinearProbe probe = LinearProbe.fit(trainX, train.classes(), train.labels().size(), L2, ITERATIONS);
        return ClassificationMetrics.of(probe.predict(testX), test.classes(), test.labels().size());
    }

    /**
     * Mean-pooled last hidden states of every example, in length-sorted batches.
     *
     * @param encoder the encoder
     * @param data the examples
     * @param batchSize texts per forward pass
     * @param manager scratch manager
     * @return {@code [size][hidden]}
     */
    static float[][] embed(BertModel encoder, ClassificationDataset data, int batchSize, NDManager manager) {
        ParameterStore ps = new ParameterStore(manager, false);
        float[][] out = new float[data.size()][];
        int[] lengths = data.lengths();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            order.add(i);
        }
        order.sort((a, b) -> Integer.compare(lengths[a], lengths[b]));
        for (int start = 0; start < order.size(); start += batchSize) {
            List<Integer> ids = order.subList(start, Math.min(order.size(), start + batchSize));
            try (NDManager sub = manager.newSubManager()) {
                ClassificationBatch b = data.batch(ids, sub);
                NDArray e = encoder.embed(ps, b.inputIds(), b.attentionMask());
                int h = (int) e.getShape().get(1);
                float[] flat = e.toFloatArray();
                for (int i = 0; i < ids.size(); i++) {
                    float[] row = new float[h];
                    System.arraycopy(flat, i * h, row, 0, h);
                    out[ids.get(i)] = row;
                }
            }
        }
        return out;
    }
}
