package dev.peft4j.examples.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Writes a merged classifier as a Hugging Face model directory with {@link MergedModelWriter}:
 * {@code config.json} (the base's, with {@code architectures}, {@code id2label}/{@code label2id}
 * and {@code peft4j_pooling}), {@code model.safetensors} (float32, Hugging Face names) and {@code
 * tokenizer.json}. Hugging Face's {@code BertForSequenceClassification} always classifies the
 * pooler output; a model trained with mean or CLS pooling says so in {@code peft4j_pooling}
 * ({@link Pooling#CONFIG_KEY}), which peft4j's loader reads.
 */
final class MergedExport {

    private MergedExport() {}

    /**
     * @param model the merged classifier (no adapter layers left)
     * @param baseConfig the base model's {@code config.json}
     * @param tokenizerJson the tokenizer
     * @param dir the target directory (created)
     * @throws IOException when writing fails
     */
    static void write(BertForSequenceClassification model, HfConfig baseConfig, String tokenizerJson, Path dir)
            throws IOException {
        Files.createDirectories(dir);
        ObjectNode config = baseConfig.json().deepCopy();
        ArrayNode arch = config.putArray("architectures");
        arch.add("BertForSequenceClassification");
        ObjectNode id2label = config.putObject("id2label");
        ObjectNode label2id = config.putObject("label2id");
        List<String> labels = model.labels();
        for (int i = 0; i < labels.size(); i++) {
            id2label.put(Integer.toString(i), labels.get(i));
            label2id.put(labels.get(i), i);
        }
        config.put(Pooling.CONFIG_KEY, model.pooling().name().toLowerCase(Locale.ROOT));
        MergedModelWriter.write(model, config, dir);
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
    }
}
