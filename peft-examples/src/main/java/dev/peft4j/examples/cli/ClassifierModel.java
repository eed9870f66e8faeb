package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.task.SequenceClassifier;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * A BERT sequence classifier and its tokenizer, resolved from {@code --model} (a built-in id or a
 * Hugging Face directory with {@code tokenizer.json}); the head is freshly initialized when the
 * checkpoint is a base model.
 *
 * @param model the classifier, its arrays owned by the manager given to {@link #load}
 * @param tokenizer the tokenizer (special tokens added, truncation to the maximum length)
 * @param config the checkpoint's {@code config.json}
 * @param tokenizerJson the {@code tokenizer.json} text, for exports
 */
record ClassifierModel(BertForSequenceClassification model, TextTokenizer tokenizer, HfConfig config,
        String tokenizerJson) implements AutoCloseable {

    /**
     * @param spec {@code builtin:<name>} or a model directory
     * @param labels label names by class index
     * @param pooling how the sequence vector is formed
     * @param maxLength tokens per text, special tokens included; positive
     * @param manager owner of the parameters
     * @return the classifier and tokenizer
     * @throws IOException when files are missing or unreadable
     */
    static ClassifierModel load(String spec, List<String> labels, Pooling pooling, int maxLength, NDManager manager)
            throws IOException {
        HfConfig hf;
        String tokenizerJson;
        TensorSource weights;
        if (Builtins.isBuiltin(spec)) {
            BuiltinModel builtin = Builtins.get(spec);
            hf = HfConfig.of(builtin.config(), spec);
            tokenizerJson = builtin.tokenizerJson();
            weights = builtin.openWeights();
        } else {
            Path dir = Path.of(spec);
            if (!Files.isDirectory(dir)) {
                throw new NoSuchFileException(spec, null, "--model must be " + String.join(" or ", Builtins.ids())
                        + " or a Hugging Face model directory");
            }
            Path tokenizerFile = dir.resolve("tokenizer.json");
            if (!Files.isRegularFile(tokenizerFile)) {
                throw new NoSuchFileException(tokenizerFile.toString(), null,
                        "the model directory has no tokenizer.json");
            }
            hf = HfConfig.read(dir);
            tokenizerJson = Files.readString(tokenizerFile);
            weights = TensorSources.open(dir);
        }
        BertForSequenceClassification model;
        try (TensorSource w = weights) {
            model = BertForSequenceClassification.loader().setCheckpoint(w, hf).setManager(manager)
                    .optPooling(pooling).optLabels(labels).load();
        }
        int max = model.config().maxPositionEmbeddings();
        if (maxLength <= 0 || maxLength > max) {
            throw new ConfigException("--max-length must be in [1, " + max + "] (max_position_embeddings), got "
                    + maxLength);
        }
        TextTokenizer tok = TextTokenizer.builder().setTokenizerJson(tokenizerJson, spec).setMaxLength(maxLength)
                .build();
        return new ClassifierModel(model, tok, hf, tokenizerJson);
    }

    /** @return the classifier as the task glue calls it */
    SequenceClassifier classifier() {
        return (ps, b, training) -> model.forward(ps, b.inputIds(), b.attentionMask(), b.tokenTypeIds(), training);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
