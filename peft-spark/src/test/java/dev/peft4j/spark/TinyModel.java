package dev.peft4j.spark;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.HfModelWriter;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.ClassifierConfigJson;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.lora.LoraInit;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A one-layer random BERT classifier (hidden 8, no dropout) over {@link TinyTokenizer}'s words,
 * saved as a model directory with its {@code tokenizer.json}, and the rows to train it on.
 */
final class TinyModel {

    static final List<String> LABELS = List.of("bad", "good");

    static final List<LabeledText> ROWS = List.of(
            new LabeledText("good tea", "good"), new LabeledText("bad tea", "bad"),
            new LabeledText("very great tea", "good"), new LabeledText("awful world", "bad"),
            new LabeledText("the tea is great", "good"), new LabeledText("the tea is awful", "bad"),
            new LabeledText("hello good world", "good"), new LabeledText("very bad", "bad"));

    static final StructType SCHEMA = new StructType()
            .add("text", DataTypes.StringType, false).add("label", DataTypes.StringType, false);

    private TinyModel() {}

    /**
     * @param dir the directory to produce
     * @return the model's source (max length 8)
     */
    static ModelSource<BertForSequenceClassification> save(Path dir) throws IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("model_type", "bert");
        n.put("vocab_size", 6 + TinyTokenizer.WORDS.size());
        n.put("hidden_size", 8);
        n.put("num_hidden_layers", 1);
        n.put("num_attention_heads", 2);
        n.put("intermediate_size", 12);
        n.put("max_position_embeddings", 16);
        n.put("type_vocab_size", 2);
        n.put("hidden_dropout_prob", 0.0);
        n.put("attention_probs_dropout_prob", 0.0);
        BertConfig config = BertConfig.from(HfConfig.of(n, "tiny/config.json")).withLabels(LABELS);
        try (NDManager manager = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(11);
            BertForSequenceClassification model = new BertForSequenceClassification(config, Pooling.MEAN);
            model.initialize(manager, DataType.FLOAT32);
            HfModelWriter.save(model, ClassifierConfigJson.of(n, LABELS, Pooling.MEAN),
                    Map.of("tokenizer.json", TinyTokenizer.json().getBytes(StandardCharsets.UTF_8)), dir);
        }
        return ModelSource.classifier(dir.toString(), LABELS, 8);
    }

    /** @return LoRA r=2 on query/value, random B (non-zero gradients everywhere), head trained */
    static LoraConfig lora() {
        return lora(0);
    }

    /** @return {@link #lora()} with LoRA dropout {@code dropout} */
    static LoraConfig lora(double dropout) {
        return LoraConfig.builder().setTargetModules("query", "value").optR(2).optLoraAlpha(4)
                .optLoraDropout(dropout).optInitLoraWeights(LoraInit.RANDOM).optModulesToSave(List.of("classifier"))
                .build();
    }

    /**
     * @param spark the session
     * @param rows the rows
     * @param partitions how many contiguous slices ({@code parallelize} slicing)
     * @return the rows as a data frame with exactly these partitions
     */
    static Dataset<Row> frame(SparkSession spark, List<LabeledText> rows, int partitions) {
        List<Row> r = rows.stream().map(t -> RowFactory.create(t.text(), t.label())).toList();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return spark.createDataFrame(jsc.parallelize(r, partitions), SCHEMA);
    }
}
