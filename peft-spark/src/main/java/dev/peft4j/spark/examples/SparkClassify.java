package dev.peft4j.spark.examples;

import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.train.ScheduleType;
import dev.peft4j.core.train.TrainingDefaults;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.spark.DataParallelArguments;
import dev.peft4j.spark.ModelSource;
import dev.peft4j.spark.SparkFineTuner;
import dev.peft4j.spark.SparkTextModel;
import dev.peft4j.spark.SparkTrainingResult;
import dev.peft4j.spark.Transport;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Fine-tunes LoRA (r=8 on query/value, classifier head trained) of the built-in all-MiniLM-L6-v2
 * on a JSONL file with fields {@code text} and {@code label}, data parallel on Spark, then scores
 * a test file over a data frame and prints {@code test accuracy 0.xxx}. The adapter directory
 * written to {@code --out} is what {@code peft4j eval --model builtin:all-minilm-l6-v2 --adapter
 * DIR --data FILE} reads.
 *
 * <pre>
 * java -cp "peft-spark/target/peft-spark.jar:peft-spark/target/lib/*" dev.peft4j.spark.examples.SparkClassify \
 *     --master local[2] --train train.jsonl --test test.jsonl --out adapter
 * </pre>
 *
 * <p>Options: {@code --master M} (omit under {@code spark-submit}), {@code --workers N} (2),
 * {@code --epochs N} (2), {@code --max-length L} (256), {@code --batch-size B} per worker (8),
 * {@code --lr X} (1e-3), {@code --seed S} (42), {@code --accumulation K} micro-batches per optimizer
 * step (1), {@code --checkpoints DIR}, {@code --transport tcp|barrier} how the workers all-reduce
 * ({@link DataParallelArguments#DEFAULT_TRANSPORT}).
 */
public final class SparkClassify {

    private static final String MODEL = "builtin:all-minilm-l6-v2";

    private SparkClassify() {}

    /**
     * Runs the example and exits: 0 on success, 1 on an error (printed), 2 on bad usage.
     *
     * @param args the options above
     */
    public static void main(String[] args) {
        int status = 0;
        try {
            run(args);
        } catch (Exception e) {
            e.printStackTrace();
            status = 1;
        }
        // Spark 3.5's barrier tasks leave a non-daemon timer thread ("Barrier task timer for
        // barrier() calls.") in local mode, which would keep the JVM alive after main returns
        System.exit(status);
    }

    private static void run(String[] args) throws IOException {
        Map<String, String> o = options(args);
        for (String required : List.of("--train", "--test", "--out")) {
            if (!o.containsKey(required)) {
                System.err.println("usage: SparkClassify [--master M] --train FILE.jsonl --test FILE.jsonl --out DIR"
                        + " [--workers N] [--epochs N] [--max-length L] [--batch-size B] [--lr X] [--seed S]"
                        + " [--accumulation K] [--checkpoints DIR] [--transport tcp|barrier]");
                System.exit(2);
            }
        }
        int workers = Integer.parseInt(o.getOrDefault("--workers", "2"));
        int maxLength = Integer.parseInt(o.getOrDefault("--max-length", "256"));
        SparkSession.Builder sb = SparkSession.builder().appName("peft4j SparkClassify")
                .config("spark.ui.showConsoleProgress", "false");
        if (o.containsKey("--master")) {
            sb.master(o.get("--master"));
        }
        SparkSession spark = sb.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        try {
            Dataset<Row> train = spark.read().json(o.get("--train")).select("text", "label");
            Dataset<Row> test = spark.read().json(o.get("--test")).select("text", "label");
            List<String> labels = new ArrayList<>();
            for (Row r : train.select("label").distinct().collectAsList()) {
                labels.add(String.valueOf(r.get(0)));
            }
            labels = LabelSet.infer(labels).labels();
            ModelSource<BertForSequenceClassification> base = ModelSource.classifier(MODEL, labels, maxLength);
            LoraConfig lora = LoraConfig.builder().setTargetModules("query", "value").optR(8).optLoraAlpha(16)
                    .optLoraDropout(0.1).optModulesToSave(List.of("classifier")).optTaskType("SEQ_CLS")
                    .optBaseModelNameOrPath(MODEL).build();
            DataParallelArguments a = new DataParallelArguments(Integer.parseInt(o.getOrDefault("--epochs", "2")), 0,
                    Integer.parseInt(o.getOrDefault("--batch-size", "8")),
                    Double.parseDouble(o.getOrDefault("--lr", Double.toString(TrainingDefaults.LEARNING_RATE))),
                    "adamw", 0.0, ScheduleType.LINEAR, TrainingDefaults.WARMUP_RATIO, TrainingDefaults.MAX_GRAD_NORM,
                    Long.parseLong(o.getOrDefault("--seed", Long.toString(TrainingDefaults.SEED))), true,
                    o.containsKey("--checkpoints") ? 50 : 0, Integer.parseInt(o.getOrDefault("--accumulation", "1")))
                    .withTransport(Transport.valueOf(o.getOrDefault("--transport",
                            DataParallelArguments.DEFAULT_TRANSPORT.name()).toUpperCase(Locale.ROOT)));
            SparkFineTuner.Builder tuner = SparkFineTuner.builder().setModel(base).setPeftConfig(lora)
                    .optLabels(labels).optWorkers(workers).optArguments(a)
                    .optLabelMetadata(Map.of("pooling", "mean", "max_length", Integer.toString(maxLength),
                            "base_model", MODEL));
            if (o.containsKey("--checkpoints")) {
                tuner.optCheckpointDir(o.get("--checkpoints"));
            }
            SparkTrainingResult r = tuner.build().fit(train, o.get("--out"));
            System.out.printf(Locale.ROOT, "trained %d steps on %d workers (%d examples): %.1f examples/s,"
                    + " final loss %.4f, all-reduce (%s) %.1f%% of step time, %.1f ms per step (%d values)%n",
                    r.finalStep(), r.workers(), r.examples(), r.examples() * (double) a.epochs() / r.stepSeconds(),
                    r.losses()[r.losses().length - 1], a.transport().name().toLowerCase(Locale.ROOT),
                    100 * r.allReduceShare(), 1000 * r.allReduceSeconds() / r.losses().length,
                    r.trainableParameters());

            List<Row> scored = SparkTextModel.classifier(base).optAdapter(o.get("--out")).build().transform(test)
                    .select("label", "prediction").collectAsList();
            long correct = scored.stream().filter(x -> String.valueOf(x.get(0)).equals(x.getString(1))).count();
            System.out.printf(Locale.ROOT, "test accuracy %.3f%n", (double) correct / scored.size());
            System.out.println("adapter: " + o.get("--out"));
        } finally {
            spark.stop();
        }
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --option value, got '" + args[i] + "'");
            }
            o.put(args[i], args[++i]);
        }
        return o;
    }
}
