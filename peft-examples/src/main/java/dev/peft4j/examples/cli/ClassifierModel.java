package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.task.SequenceClassifier;
import dev.peft4j.core.nn.WeightLoader;

import java.io.IOException;
import java.util.List;

/** Loads a BERT sequence classifier from {@code --model}; a base model's head starts fresh. */
final class ClassifierModel {

    private ClassifierModel() {}

    /**
     * @param files the model files
     * @param labels label names by class index
     * @param pooling how the sequence vector is formed
     * @param manager owner of the parameters
     * @param weights how the weights land (full precision, or quantized while loading)
     * @return the classifier
     * @throws IOException when the weights cannot be read
     */
    static BertForSequenceClassification load(ModelFiles files, List<String> labels, Pooling pooling,
            NDManager manager, WeightLoader weights) throws IOException {
        return load(files, labels, pooling, manager, weights, BertForSequenceClassification.DEFAULT_SEED);
    }

    /**
     * @param files the model files
     * @param labels label names by class index
     * @param pooling how the sequence vector is formed
     * @param manager owner of the parameters
     * @param weights how the weights land (full precision, or quantized while loading)
     * @param seed the seed of a fresh head ({@code --seed}: the same in every process)
     * @return the classifier
     * @throws IOException when the weights cannot be read
     */
    static BertForSequenceClassification load(ModelFiles files, List<String> labels, Pooling pooling,
            NDManager manager, WeightLoader weights, long seed) throws IOException {
        try (TensorSource w = files.openWeights()) {
            return BertForSequenceClassification.loader().setCheckpoint(w, files.config()).setManager(manager)
                    .optPooling(pooling).optLabels(labels).optWeightLoader(weights).optSeed(seed).load();
        }
    }

    /**
     * @param files the model files
     * @param maxLength the requested tokens per text
     * @throws ConfigException when it exceeds the model's positions or is not positive
     */
    static void checkMaxLength(ModelFiles files, int maxLength) {
        int max = BertConfig.from(files.config()).maxPositionEmbeddings();
        if (maxLength <= 0 || maxLength > max) {
            throw new ConfigException("--max-length must be in [1, " + max + "] (max_position_embeddings), got "
                    + maxLength);
        }
    }

    /**
     * @param model the classifier
     * @return it as the task glue calls it
     */
    static SequenceClassifier classifier(BertForSequenceClassification model) {
        return (ps, b, training) -> model.forward(ps, b.inputIds(), b.attentionMask(), b.tokenTypeIds(), training);
    }
}
