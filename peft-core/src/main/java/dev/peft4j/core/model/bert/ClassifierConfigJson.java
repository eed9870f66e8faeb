package dev.peft4j.core.model.bert;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.Locale;

/**
 * A sequence classifier's {@code config.json} as transformers saves it: {@code architectures:
 * [BertForSequenceClassification]}, {@code id2label} and {@code label2id} (no {@code num_labels},
 * which transformers derives), and the pooling under {@link Pooling#CONFIG_KEY} when it is not the
 * pooler. transformers always classifies the pooler output; peft4j's loader reads the key.
 */
public final class ClassifierConfigJson {

    private ClassifierConfigJson() {}

    /**
     * @param base the encoder's or classifier's {@code config.json} (not changed)
     * @param labels label names by class index
     * @param pooling how the sequence vector is formed
     * @return the classifier's config
     */
    public static ObjectNode of(ObjectNode base, List<String> labels, Pooling pooling) {
        ObjectNode c = base.deepCopy();
        c.remove(Pooling.CONFIG_KEY);
        if (pooling != Pooling.POOLER) {
            c.put(Pooling.CONFIG_KEY, pooling.name().toLowerCase(Locale.ROOT));
        }
        c.putArray("architectures").add("BertForSequenceClassification");
        c.remove("num_labels");
        ObjectNode id2label = c.putObject("id2label");
        ObjectNode label2id = c.putObject("label2id");
        for (int i = 0; i < labels.size(); i++) {
            id2label.put(Integer.toString(i), labels.get(i));
            label2id.put(labels.get(i), i);
        }
        return c;
    }
}
