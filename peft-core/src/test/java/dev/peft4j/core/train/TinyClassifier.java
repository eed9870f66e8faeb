package dev.peft4j.core.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A one-layer random BERT classifier over {@link TinyTokenizer}'s vocabulary (labels {@code bad},
 * {@code good}), its embeddings frozen, and a tiny review data set for {@link FineTuner} tests.
 */
public final class TinyClassifier {

    public static final List<LabeledText> TRAIN = List.of(
            new LabeledText("good tea", "good"), new LabeledText("bad tea", "bad"),
            new LabeledText("very great tea", "good"), new LabeledText("awful world", "bad"),
            new LabeledText("the tea is great", "good"), new LabeledText("the tea is awful", "bad"),
            new LabeledText("hello good world", "good"), new LabeledText("very bad", "bad"));

    public static final List<LabeledText> TEST = List.of(
            new LabeledText("great tea", "good"), new LabeledText("awful tea", "bad"),
            new LabeledText("very good", "good"));

    private TinyClassifier() {}

    /** @return the classifier, initialized (seeded by the engine) with its embeddings frozen */
    public static BertForSequenceClassification create(NDManager manager) {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model_type", "bert");
        n.put("vocab_size", 6 + TinyTokenizer.WORDS.size());
        n.put("hidden_size", 8);
        n.put("num_hidden_layers", 1);
        n.put("num_attention_heads", 2);
        n.put("intermediate_size", 12);
        n.put("max_position_embeddings", 16);
        n.put("type_vocab_size", 2);
        n.put("hidden_dropout_prob", 0.1);
        n.put("attention_probs_dropout_prob", 0.1);
        BertConfig config = BertConfig.from(HfConfig.of(n, "tiny/config.json")).withLabels(List.of("bad", "good"));
        BertForSequenceClassification model = new BertForSequenceClassification(config, Pooling.MEAN);
        model.initialize(manager, DataType.FLOAT32);
        model.freeze(p -> p.startsWith("bert.embeddings."));
        return model;
    }

    /** @return every parameter's values by path */
    public static Map<String, float[]> snapshot(BertForSequenceClassification model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.namedParameters().forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    /** Puts back the values of {@link #snapshot}. */
    public static void restore(BertForSequenceClassification model, Map<String, float[]> values) {
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            e.getValue().getArray().set(values.get(e.getKey()));
        }
    }

    /** @return the rows as a JSONL file in {@code dir} */
    public static Path jsonl(Path dir, String name, List<LabeledText> rows) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<String> lines = new ArrayList<>();
        for (LabeledText r : rows) {
            lines.add(json.writeValueAsString(r));
        }
        return Files.write(dir.resolve(name), lines);
    }
}
