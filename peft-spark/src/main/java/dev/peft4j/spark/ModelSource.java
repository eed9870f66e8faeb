package dev.peft4j.spark;

import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;

/**
 * Where an executor gets the frozen base model: serialized into the Spark closure (a few strings),
 * loaded on the executor with its tokenizer. The path must be readable on every executor (a
 * built-in id, a local copy, or a shared mount).
 *
 * <pre>{@code
 * ModelSource<BertForSequenceClassification> base =
 *         ModelSource.classifier("builtin:all-minilm-l6-v2", List.of("neg", "pos"), 256);
 * }</pre>
 *
 * @param <M> the model type
 */
public interface ModelSource<M extends Module> extends Serializable {

    /** @return identifies the loaded model in an executor's cache: equal keys, equal models */
    String key();

    /**
     * Loads a fresh copy (its own arrays, with its tokenizer); the caller closes it.
     *
     * @return the model
     * @throws IOException when the files cannot be read
     */
    M load() throws IOException;

    /**
     * A sequence classifier ({@link BertForSequenceClassification#fromPretrained}) with mean
     * pooling; an encoder gets a fresh head of {@code labels.size()} classes.
     *
     * @param pathOrBuiltinId a built-in id or a Hugging Face model directory
     * @param labels label names by class index (null: the directory's)
     * @param maxLength tokens per text (texts are truncated)
     * @return the source
     */
    static ModelSource<BertForSequenceClassification> classifier(String pathOrBuiltinId, List<String> labels,
            int maxLength) {
        return new PretrainedSource<>(PretrainedSource.Kind.CLASSIFIER, pathOrBuiltinId, labels, maxLength);
    }

    /**
     * A sentence encoder ({@link BertModel#fromPretrained}).
     *
     * @param pathOrBuiltinId a built-in id or a Hugging Face model directory
     * @param maxLength tokens per text
     * @return the source
     */
    static ModelSource<BertModel> encoder(String pathOrBuiltinId, int maxLength) {
        return new PretrainedSource<>(PretrainedSource.Kind.ENCODER, pathOrBuiltinId, null, maxLength);
    }

    /**
     * A causal language model ({@link LlamaForCausalLM#fromPretrained}).
     *
     * @param path a Hugging Face model directory
     * @return the source
     */
    static ModelSource<LlamaForCausalLM> causalLm(String path) {
        return new PretrainedSource<>(PretrainedSource.Kind.CAUSAL_LM, path, null, 0);
    }
}
