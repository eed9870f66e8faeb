package dev.peft4j.spark;

import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.peft.PeftConfig;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Fine-tunes an adapter of a sequence classifier on a Spark {@code Dataset<Row>}, data parallel
 * over a barrier stage: one task per worker, each loading the frozen base once per executor JVM
 * and building the same adapter from one seed; per optimizer step only the adapter's gradients
 * are all-reduced (over {@link DataParallelArguments#transport()}: {@link TcpCollective} between
 * the tasks by default, or {@link BarrierCollective} through the driver), summed in rank order so
 * every replica stays bit-identical, with the loss normalized by the global example count and clipping after the
 * reduction. Rank 0 returns the adapter, which the driver writes once, in PEFT format. With
 * {@link DataParallelArguments#gradientAccumulationSteps()} {@code k > 1} each worker sums the
 * gradients of {@code k} micro-batches before the step's one all-reduce, and the loss is the mean
 * over every example of every micro-batch of every worker. The frozen base is cached per executor
 * JVM and reused by later tasks and runs (restored after each run).
 *
 * <pre>{@code
 * SparkTrainingResult r = SparkFineTuner.builder()
 *         .setModel(ModelSource.classifier("builtin:all-minilm-l6-v2", null, 256))
 *         .setPeftConfig(LoraConfig.builder().setTargetModules("query", "value").optR(8)
 *                 .optModulesToSave(List.of("classifier")).build())
 *         .optWorkers(2)
 *         .optArguments(new DataParallelArguments(2, 0, 16, 1e-3, "adamw", 0, ScheduleType.LINEAR, 0.06,
 *                 1.0, 42, true, 0))
 *         .build()
 *         .fit(train, "/data/adapter");
 * }</pre>
 *
 * <p>The stage runs as a shuffle-map stage (its output is repartitioned to one partition before
 * collecting, as XGBoost4J-Spark does), so Spark retries a failed stage as a whole, up to {@code
 * spark.stage.maxConsecutiveAttempts}; with {@link Builder#optCheckpointDir} a retry resumes from
 * the last checkpoint. Barrier mode needs as many free task slots as workers and no dynamic
 * allocation; {@link DataParallelArguments#transportTimeout()} bounds how long a rank waits for
 * the others over {@link Transport#TCP} (a rank that dies fails the others at once), {@code
 * spark.barrier.sync.timeout} over {@link Transport#BARRIER} and at the TCP rendezvous.
 */
public final class SparkFineTuner {

    private static final Logger LOG = LoggerFactory.getLogger(SparkFineTuner.class);

    private final Builder b;
    private final ConfigBytes config;

    private SparkFineTuner(Builder b) {
        this.b = b;
        this.config = ConfigBytes.of(b.peftConfig);
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Trains and writes the adapter directory ({@code adapter_config.json}, {@code
     * adapter_model.safetensors}, and {@code labels.json} with the labels in head order). When the
     * training stage fails (after Spark's stage retries), Spark's {@code SparkException} (unchecked,
     * from Scala) names the failed task's exception, and nothing is written.
     *
     * @param data rows with the text and label columns
     * @param outputPath the adapter directory to produce: absent or empty; written atomically on
     *     the driver's file system
     * @return losses and timings
     * @throws IOException when the output cannot be written
     * @throws IllegalArgumentException when a column is missing
     */
    public SparkTrainingResult fit(Dataset<Row> data, String outputPath) throws IOException {
        Objects.requireNonNull(data, "data");
        Path out = Paths.get(Objects.requireNonNull(outputPath, "outputPath"));
        BarrierTraining.requireEmpty(out);
        for (String c : List.of(b.textColumn, b.labelColumn)) {
            if (!List.of(data.columns()).contains(c)) {
                throw new IllegalArgumentException("column '" + c + "' not in the data; it has "
                        + List.of(data.columns()));
            }
        }
        List<String> labels = b.labels != null ? b.labels : inferLabels(data);
        int workers = b.workers > 0 ? b.workers : data.rdd().getNumPartitions();
        TrainTask<BertForSequenceClassification> task = new TrainTask<>(
                new ClassifierObjective(b.model, labels, b.textColumn, b.labelColumn), config, b.arguments,
                b.checkpointDir, b.collectives, b.observer);
        BarrierTraining.Stage stage = BarrierTraining.run(data.select(b.textColumn, b.labelColumn), workers, task);
        Map<String, byte[]> files = new LinkedHashMap<>(stage.first().adapter().files());
        Path tmp = Files.createTempDirectory("peft4j-labels-");
        try {
            Path labelsFile = tmp.resolve(LabelSet.FILE_NAME);
            Map<String, String> meta = new LinkedHashMap<>(b.labelMetadata);
            meta.putIfAbsent("task", "classify");
            meta.putIfAbsent("text_field", b.textColumn);
            meta.putIfAbsent("label_field", b.labelColumn);
            LabelSet.of(labels).withMetadata(meta).write(labelsFile);
            files.put(LabelSet.FILE_NAME, Files.readAllBytes(labelsFile));
        } finally {
            Dirs.deleteQuietly(tmp);
        }
        new AdapterBytes(files).writeAtomically(out);
        SparkTrainingResult r = stage.result();
        LOG.info("trained {} steps on {} workers ({} examples) in {} s; wrote {}", r.finalStep(), r.workers(),
                r.examples(), r.wallSeconds(), out);
        return r;
    }

    private List<String> inferLabels(Dataset<Row> data) {
        TreeSet<String> seen = new TreeSet<>();
        for (Row r : data.select(b.labelColumn).distinct().collectAsList()) {
            if (r.isNullAt(0)) {
                throw new IllegalArgumentException("column '" + b.labelColumn + "' has a null label");
            }
            seen.add(String.valueOf(r.get(0)));
        }
        return LabelSet.infer(seen).labels();
    }

    /** Builder of {@link SparkFineTuner}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private ModelSource<BertForSequenceClassification> model;
        private PeftConfig peftConfig;
        private List<String> labels;
        private String textColumn = "text";
        private String labelColumn = "label";
        private int workers;
        private DataParallelArguments arguments = DataParallelArguments.defaults();
        private String checkpointDir;
        private Map<String, String> labelMetadata = Map.of();
        private TrainTask.CollectiveFactory collectives;
        private TrainTask.Observer observer;

        private Builder() {}

        /**
         * @param model the frozen base classifier, loaded on every executor (required)
         * @return this builder
         */
        public Builder setModel(ModelSource<BertForSequenceClassification> model) {
            this.model = model;
            return this;
        }

        /**
         * @param peftConfig the adapter to train, of any method (required)
         * @return this builder
         */
        public Builder setPeftConfig(PeftConfig peftConfig) {
            this.peftConfig = peftConfig;
            return this;
        }

        /**
         * @param labels label names by class index (default: the distinct values of the label
         *     column, sorted)
         * @return this builder
         */
        public Builder optLabels(List<String> labels) {
            this.labels = List.copyOf(labels);
            return this;
        }

        /**
         * @param textColumn the text column (default {@code text})
         * @return this builder
         */
        public Builder optTextColumn(String textColumn) {
            this.textColumn = textColumn;
            return this;
        }

        /**
         * @param labelColumn the label column (default {@code label})
         * @return this builder
         */
        public Builder optLabelColumn(String labelColumn) {
            this.labelColumn = labelColumn;
            return this;
        }

        /**
         * @param workers data-parallel workers, one barrier task each (default: the data's number
         *     of partitions; otherwise the data is repartitioned)
         * @return this builder
         */
        public Builder optWorkers(int workers) {
            this.workers = workers;
            return this;
        }

        /**
         * @param arguments the run's settings (default {@link DataParallelArguments#defaults()})
         * @return this builder
         */
        public Builder optArguments(DataParallelArguments arguments) {
            this.arguments = arguments;
            return this;
        }

        /**
         * @param checkpointDir where rank 0 writes {@code checkpoint-<step>} every {@link
         *     DataParallelArguments#checkpointEvery()} steps and at the end, and where a run
         *     (or a retried stage) resumes from; a path every executor can read and rank 0's can
         *     write (default: none)
         * @return this builder
         */
        public Builder optCheckpointDir(String checkpointDir) {
            this.checkpointDir = checkpointDir;
            return this;
        }

        /**
         * @param metadata extra entries of {@code labels.json} (e.g. {@code pooling}, {@code
         *     max_length}, {@code base_model}, which {@code peft4j eval} reads)
         * @return this builder
         */
        public Builder optLabelMetadata(Map<String, String> metadata) {
            this.labelMetadata = Map.copyOf(metadata);
            return this;
        }

        /** Tests: the collective of each task (default: the arguments' transport's). */
        Builder collectives(TrainTask.CollectiveFactory collectives) {
            this.collectives = collectives;
            return this;
        }

        /** Tests and progress: sees every step on every rank. */
        Builder observer(TrainTask.Observer observer) {
            this.observer = observer;
            return this;
        }

        /**
         * @return the tuner
         * @throws NullPointerException naming a missing required field
         */
        public SparkFineTuner build() {
            Objects.requireNonNull(model, "model is required (setModel)");
            Objects.requireNonNull(peftConfig, "peftConfig is required (setPeftConfig)");
            Objects.requireNonNull(arguments, "arguments must not be null");
            if (workers < 0) {
                throw new IllegalArgumentException("workers must not be negative, got " + workers);
            }
            return new SparkFineTuner(this);
        }
    }
}
