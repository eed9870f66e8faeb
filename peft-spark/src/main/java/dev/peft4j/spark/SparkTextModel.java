package dev.peft4j.spark;

import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Runs a base model with an adapter (of any PEFT method, read with {@code PeftModel.load}) over a
 * text column of a {@code Dataset<Row>}, like a Spark ML transformer: the model is loaded once per
 * executor JVM, the adapter's files are broadcast, and the output columns are appended.
 *
 * <pre>{@code
 * Dataset<Row> scored = SparkTextModel.classifier(
 *                 ModelSource.classifier("builtin:all-minilm-l6-v2", List.of("neg", "pos"), 256))
 *         .optAdapter("/data/adapter")
 *         .build()
 *         .transform(reviews);        // + prediction (string), probabilities (array<float>)
 * }</pre>
 *
 * <ul>
 *   <li>{@link #classifier}: columns {@code prediction} (the arg-max label) and {@code
 *       probabilities} (softmax, in label order);
 *   <li>{@link #encoder}: column {@code embedding} (mean-pooled, optionally L2-normalized);
 *   <li>{@link #causalLm}: column {@code generated} (greedy, up to {@code maxNewTokens} tokens).
 * </ul>
 */
public final class SparkTextModel {

    private final TextTask.Kind kind;
    private final ModelSource<? extends Module> source;
    private final AdapterBytes adapter;
    private final String adapterKey;
    private final String inputColumn;
    private final List<String> outputColumns;
    private final int batchSize;
    private final boolean normalize;
    private final int maxNewTokens;

    private SparkTextModel(Builder b) {
        this.kind = b.kind;
        this.source = b.source;
        try {
            this.adapter = b.adapterPath == null ? null : AdapterBytes.read(Paths.get(b.adapterPath));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the adapter directory " + b.adapterPath, e);
        }
        // by content: an adapter retrained into the same directory is a new model on the executors
        this.adapterKey = adapter == null ? "none" : adapter.digest();
        this.inputColumn = b.inputColumn;
        this.outputColumns = b.outputColumns;
        this.batchSize = b.batchSize;
        this.normalize = b.normalize;
        this.maxNewTokens = b.maxNewTokens;
    }

    /**
     * @param source the base classifier
     * @return a builder appending {@code prediction} and {@code probabilities}
     */
    public static Builder classifier(ModelSource<BertForSequenceClassification> source) {
        return new Builder(TextTask.Kind.CLASSIFY, source, List.of("prediction", "probabilities"));
    }

    /**
     * @param source the base encoder
     * @return a builder appending {@code embedding}
     */
    public static Builder encoder(ModelSource<BertModel> source) {
        return new Builder(TextTask.Kind.EMBED, source, List.of("embedding"));
    }

    /**
     * @param source the base language model
     * @return a builder appending {@code generated}
     */
    public static Builder causalLm(ModelSource<LlamaForCausalLM> source) {
        return new Builder(TextTask.Kind.GENERATE, source, List.of("generated"));
    }

    /**
     * @param data rows with the input column
     * @return the rows, in their order per partition, with the output columns appended
     * @throws IllegalArgumentException when the input column is missing or an output column exists
     */
    public Dataset<Row> transform(Dataset<Row> data) {
        List<String> columns = Arrays.asList(data.columns());
        if (!columns.contains(inputColumn)) {
            throw new IllegalArgumentException("column '" + inputColumn + "' not in the data; it has " + columns);
        }
        for (String c : outputColumns) {
            if (columns.contains(c)) {
                throw new IllegalArgumentException("output column '" + c + "' is already in the data");
            }
        }
        StructType schema = data.schema();
        schema = switch (kind) {
            case CLASSIFY -> schema.add(outputColumns.get(0), DataTypes.StringType, true)
                    .add(outputColumns.get(1), DataTypes.createArrayType(DataTypes.FloatType, false), true);
            case EMBED -> schema.add(outputColumns.get(0), DataTypes.createArrayType(DataTypes.FloatType, false),
                    true);
            case GENERATE -> schema.add(outputColumns.get(0), DataTypes.StringType, true);
        };
        Broadcast<AdapterBytes> shared = adapter == null ? null
                : JavaSparkContext.fromSparkContext(data.sparkSession().sparkContext()).broadcast(adapter);
        TextTask task = new TextTask(kind, source, shared, adapterKey, data.schema().fieldIndex(inputColumn),
                batchSize, normalize, maxNewTokens);
        return data.mapPartitions(task, Encoders.row(schema));
    }

    /** Builder of {@link SparkTextModel}: {@code optX} optional. */
    public static final class Builder {
        private final TextTask.Kind kind;
        private final ModelSource<? extends Module> source;
        private String adapterPath;
        private String inputColumn = "text";
        private List<String> outputColumns;
        private int batchSize = 32;
        private boolean normalize;
        private int maxNewTokens = 32;

        private Builder(TextTask.Kind kind, ModelSource<? extends Module> source, List<String> outputColumns) {
            this.kind = kind;
            this.source = Objects.requireNonNull(source, "source");
            this.outputColumns = outputColumns;
        }

        /**
         * @param adapterPath an adapter directory on the driver (PEFT format, any method; default:
         *     the base model alone)
         * @return this builder
         */
        public Builder optAdapter(String adapterPath) {
            this.adapterPath = adapterPath;
            return this;
        }

        /**
         * @param inputColumn the text column (default {@code text})
         * @return this builder
         */
        public Builder optInputColumn(String inputColumn) {
            this.inputColumn = Objects.requireNonNull(inputColumn, "inputColumn");
            return this;
        }

        /**
         * @param outputColumns the names of the appended columns, as many as the task appends
         * @return this builder
         */
        public Builder optOutputColumns(String... outputColumns) {
            if (outputColumns.length != this.outputColumns.size()) {
                throw new IllegalArgumentException("this task appends " + this.outputColumns.size() + " columns "
                        + this.outputColumns + ", got " + outputColumns.length + " names");
            }
            this.outputColumns = List.of(outputColumns);
            return this;
        }

        /**
         * @param batchSize texts per forward pass (default 32)
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * @param normalize encoder: L2-normalize the embeddings (default false)
         * @return this builder
         */
        public Builder optNormalize(boolean normalize) {
            this.normalize = normalize;
            return this;
        }

        /**
         * @param maxNewTokens causal LM: tokens to generate per text (default 32)
         * @return this builder
         */
        public Builder optMaxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /**
         * @return the transformer
         * @throws IllegalArgumentException for a non-positive batch size or token count
         * @throws UncheckedIOException when the adapter directory cannot be read
         */
        public SparkTextModel build() {
            if (batchSize <= 0) {
                throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
            }
            if (maxNewTokens <= 0) {
                throw new IllegalArgumentException("maxNewTokens must be positive, got " + maxNewTokens);
            }
            return new SparkTextModel(this);
        }
    }
}
