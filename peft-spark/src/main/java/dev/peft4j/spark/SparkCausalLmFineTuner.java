package dev.peft4j.spark;

import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.train.TrainingDefaults;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Objects;

/**
 * Fine-tunes an adapter of a causal language model (Llama, Qwen2, Mistral families) on a Spark
 * {@code Dataset<Row>}, data parallel over a barrier stage, as {@link SparkFineTuner} does for
 * classifiers. The loss of an optimizer step is the mean next-token cross-entropy over every
 * trained token of the global batch, {@code Σ_r Σ_tokens ℓ / Σ_r T_r} with {@code T_r} the
 * rank's count of labels other than {@code -100} (after the shift), so ranks and micro-batches
 * with more trained tokens weigh more, exactly as one process on the concatenated batch.
 *
 * <p>A row is read like a JSONL row of {@code CausalLmDataset}: a {@code text} column (loss on
 * every token), {@code prompt} and {@code completion} (loss on the completion), or pre-tokenized
 * {@code input_ids} (array of long) with {@code labels} ({@code -100}: no loss) or {@code
 * prompt_len}. Text is tokenized with the base's {@code tokenizer.json}.
 *
 * <pre>{@code
 * SparkTrainingResult r = SparkCausalLmFineTuner.builder()
 *         .setModel(ModelSource.causalLm("/models/qwen2.5-0.5b"))
 *         .setPeftConfig(LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(16).build())
 *         .optWorkers(4)
 *         .optMaxLength(512)
 *         .optArguments(DataParallelArguments.defaults().withGradientAccumulationSteps(8))
 *         .build()
 *         .fit(spark.read().json("sft.jsonl"), "/data/adapter");
 * }</pre>
 */
public final class SparkCausalLmFineTuner {

    private static final Logger LOG = LoggerFactory.getLogger(SparkCausalLmFineTuner.class);

    /** The columns a row may be read from. */
    static final List<String> COLUMNS = List.of("text", "prompt", "completion", "input_ids", "labels", "prompt_len");

    private final Builder b;
    private final ConfigBytes config;

    private SparkCausalLmFineTuner(Builder b) {
        this.b = b;
        this.config = ConfigBytes.of(b.peftConfig);
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Trains and writes the adapter directory ({@code adapter_config.json}, {@code
     * adapter_model.safetensors}) atomically; nothing is written when the stage fails.
     *
     * @param data rows with {@code text}, {@code prompt}/{@code completion} or {@code input_ids}
     * @param outputPath the adapter directory to produce: absent or empty
     * @return losses and timings
     * @throws IOException when the output cannot be written
     * @throws IllegalArgumentException when the data has none of the columns read
     */
    public SparkTrainingResult fit(Dataset<Row> data, String outputPath) throws IOException {
        Objects.requireNonNull(data, "data");
        Path out = Paths.get(Objects.requireNonNull(outputPath, "outputPath"));
        BarrierTraining.requireEmpty(out);
        List<String> present = List.of(data.columns()).stream().filter(COLUMNS::contains).toList();
        if (!present.contains("text") && !present.contains("input_ids")
                && !(present.contains("prompt") && present.contains("completion"))) {
            throw new IllegalArgumentException("the data needs a text, prompt and completion, or input_ids column;"
                    + " it has " + List.of(data.columns()));
        }
        int workers = b.workers > 0 ? b.workers : data.rdd().getNumPartitions();
        TrainTask<LlamaForCausalLM> task = new TrainTask<>(new CausalLmObjective(b.model, b.maxLength), config,
                b.arguments, b.checkpointDir, b.collectives, b.observer);
        Dataset<Row> input = data.selectExpr(present.stream().map(c -> "`" + c + "`").toArray(String[]::new));
        BarrierTraining.Stage stage = BarrierTraining.run(input, workers, task);
        stage.first().adapter().writeAtomically(out);
        SparkTrainingResult r = stage.result();
        LOG.info("trained {} steps on {} workers ({} sequences) in {} s; wrote {}", r.finalStep(), r.workers(),
                r.examples(), r.wallSeconds(), out);
        return r;
    }

    /** Builder of {@link SparkCausalLmFineTuner}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private ModelSource<LlamaForCausalLM> model;
        private PeftConfig peftConfig;
        private int workers;
        private int maxLength = TrainingDefaults.MAX_LENGTH;
        private DataParallelArguments arguments = DataParallelArguments.defaults();
        private String checkpointDir;
        private TrainTask.CollectiveFactory collectives;
        private TrainTask.Observer observer;

        private Builder() {}

        /**
         * @param model the frozen base language model, loaded once per executor JVM (required)
         * @return this builder
         */
        public Builder setModel(ModelSource<LlamaForCausalLM> model) {
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
         * @param workers data-parallel workers, one barrier task each (default: the data's number
         *     of partitions; otherwise the data is repartitioned)
         * @return this builder
         */
        public Builder optWorkers(int workers) {
            this.workers = workers;
            return this;
        }

        /**
         * @param maxLength tokens per sequence; longer ones are cut (default {@value
         *     TrainingDefaults#MAX_LENGTH})
         * @return this builder
         */
        public Builder optMaxLength(int maxLength) {
            this.maxLength = maxLength;
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
         * @param checkpointDir where rank 0 writes checkpoints and a run resumes from (see {@link
         *     SparkFineTuner.Builder#optCheckpointDir}; default: none)
         * @return this builder
         */
        public Builder optCheckpointDir(String checkpointDir) {
            this.checkpointDir = checkpointDir;
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
         * @throws IllegalArgumentException for a non-positive max length or negative workers
         */
        public SparkCausalLmFineTuner build() {
            Objects.requireNonNull(model, "model is required (setModel)");
            Objects.requireNonNull(peftConfig, "peftConfig is required (setPeftConfig)");
            Objects.requireNonNull(arguments, "arguments must not be null");
            if (workers < 0) {
                throw new IllegalArgumentException("workers must not be negative, got " + workers);
            }
            if (maxLength <= 0) {
                throw new IllegalArgumentException("maxLength must be positive, got " + maxLength);
            }
            return new SparkCausalLmFineTuner(this);
        }
    }
}
