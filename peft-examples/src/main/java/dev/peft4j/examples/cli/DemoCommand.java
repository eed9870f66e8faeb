package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfModelWriter;
import dev.peft4j.core.model.bert.ClassifierConfigJson;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.task.ClassificationMetrics;
import dev.peft4j.core.task.SequenceClassifier;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.EvaluationResult;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.StepListener;
import dev.peft4j.core.train.StepMetrics;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingDefaults;
import dev.peft4j.core.train.TrainingResult;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.tuners.bottleneck.BottleneckRecipe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code peft4j demo}: the end-to-end job. Fine-tunes LoRA adapters (r=8 on the query and value
 * projections) and a classifier head on the built-in all-MiniLM-L6-v2 to tell great food reviews
 * from the rest, compares with the frozen-embedding baseline, saves the adapter in PEFT format,
 * merges it and exports a Hugging Face model directory. With {@code --quantize nf4} the encoder's
 * linear layers are quantized to 4 bits first (QLoRA) and the export is the dense merge over the
 * dequantized base ({@link PeftModel#mergeAndUnloadDense()}).
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tune all-MiniLM-L6-v2 (builtin) with LoRA r=8 on query,value (or another --method) plus a"
                    + " classifier head on Amazon Fine Food reviews (4,000 train / 1,000 test, labels great/other),"
                    + " report test accuracy against the frozen-embedding baseline, save the adapter (PEFT format;"
                    + " bottleneck: AdapterHub's), merge it and export a Hugging Face model directory.",
            "Merging needs a mergeable method (lora, ia3, bitfit); for prompt-tuning, p-tuning, prefix-tuning and"
                    + " bottleneck the merge and export are skipped with a note: the adapter directory is the result.",
            "Data: Amazon Fine Food reviews (SNAP; McAuley and Leskovec, 2013) via the R package modeldata"
                    + " (small_fine_foods, MIT); see NOTICE."
        })
final class DemoCommand extends CliCommand {

    /** The file that marks an output directory as the demo's, whose earlier files a re-run replaces. */
    static final String MARKER = ".peft4j-demo";

    /** The run's figures, as JSON. */
    static final String SUMMARY = "demo-summary.json";

    static final int QUICK_TRAIN = 1000;
    static final int QUICK_TEST = 200;

    /** Epochs of a quick run: one epoch of 1,000 reviews still answers the majority label everywhere. */
    static final int QUICK_EPOCHS = 2;
    static final int EVAL_BATCH = 64;

    private static final double MIB = 1024.0 * 1024.0;

    @Option(names = "--out", defaultValue = "peft4j-demo", paramLabel = "DIR",
            description = "Output directory (default ./peft4j-demo).")
    Path out;

    @Option(names = "--quick", description = "A short run: 1,000 training / 200 test reviews, 2 epochs.")
    boolean quick;

    /** QLoRA: the encoder's linear layers become 4-bit before LoRA; the merged export is dense float32. */
    @Mixin QuantizeOptions quantize;

    @Option(names = "--pooling", defaultValue = TrainingDefaults.POOLING, paramLabel = "mean|cls",
            description = "The sequence vector fed to the head (default mean, as sentence-transformers).")
    String pooling;

    @Mixin MethodOptions method;

    @Mixin RunOptions run;

    @Mixin OptimizerOptions optim;

    /** A fixed step budget instead of epochs (a smoke run of the whole demo). */
    @Mixin MaxStepsOption maxSteps;

    @Override
    int run() throws Exception {
        long start = System.nanoTime();
        String loadBefore = loadAverage();
        method.validate("SEQ_CLS", Builtins.ALL_MINILM_L6_V2, null);
        method.applyTrainingDefaults(run);
        run.check();
        quantize.config();
        optim.optimizer(); // a bad --optim fails before the model loads
        maxSteps.check();
        if (quick) {
            run.epochs = QUICK_EPOCHS;
        }
        Pooling pool = Pooling.parse(pooling);
        prepare(out);
        PrintWriter o = out();
        ModelFiles files = ModelFiles.resolve(Builtins.ALL_MINILM_L6_V2);
        Path dataDir = out.resolve("data");
        Path trainFile = DemoData.extract("train.jsonl", quick ? QUICK_TRAIN : 0, dataDir);
        Path testFile = DemoData.extract("test.jsonl", quick ? QUICK_TEST : 0, dataDir);
        Path adapterDir = out.resolve("adapter");
        Path mergedDir = out.resolve("merged");
        Map<String, Object> summary = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = files.classificationTokenizer(run.maxLength)) {
            ClassificationDataset train = ClassificationDataset.builder().setFile(trainFile).setTokenizer(tokenizer)
                    .build();
            ClassificationDataset test = ClassificationDataset.builder().setFile(testFile).setTokenizer(tokenizer)
                    .optLabels(train.labels()).build();
            MethodRecipe m = method.method();
            String name = method.isLora() ? (quantize.enabled() ? "QLoRA" : "LoRA")
                    : m.displayName() + (quantize.enabled() ? " over a 4-bit base" : "");
            o.printf(Locale.ROOT, "peft4j demo: all-MiniLM-L6-v2 + %s on Amazon Fine Food reviews (%s)%n",
                    name, String.join(" / ", train.labels().labels()));
            o.printf(Locale.ROOT, "data: %d training and %d test reviews, up to %d tokens (%d truncated)%n",
                    train.size(), test.size(), run.maxLength, train.truncatedCount() + test.truncatedCount());
            o.flush();

            BertForSequenceClassification model = ClassifierModel.load(files, train.labels().labels(), pool, manager,
                    quantize.weightLoader(files.config()), run.seed);
            if (quantize.enabled()) {
                long layers = QuantizeOptions.fourBitLayers(model);
                o.printf(Locale.ROOT, "base: %d linear layers quantized to %s while loading, model weights %.1f MiB"
                        + " (%.1f MiB in F32)%n", layers, quantize.describe(), Quantization.weightBytes(model) / MIB,
                        4.0 * model.parameterCount() / MIB);
                summary.put("quantized_layers", layers);
            }
            long t = System.nanoTime();
            ClassificationMetrics baseline = EmbeddingBaseline.run(files, train, test, EVAL_BATCH);
            o.printf(Locale.ROOT, "baseline (frozen mean-pooled embeddings + logistic regression): test accuracy"
                    + " %.4f, macro-F1 %.4f (%.0f s)%n", baseline.accuracy(), baseline.macroF1(), seconds(t));
            o.flush();

            PeftModel<?> peft = method.wrap(model, "SEQ_CLS", List.of("classifier"), Builtins.ALL_MINILM_L6_V2, null,
                    run.seed, manager);
            long trainable = peft.trainableParameters().trainable();
            double trainablePercent = peft.trainableParameters().percent();
            o.println(peft.trainableParameters());
            o.printf(Locale.ROOT, "training: %s %s + classifier head; %d epoch(s),"
                    + " batch %d, lr %s (warmup 6%%, linear decay), %s pooling%n",
                    (method.isLora() ? (quantize.enabled() ? "QLoRA" : "LoRA") : m.displayName())
                            + (quantize.enabled() ? " (" + quantize.type + " base)" : ""), method.describe("SEQ_CLS"),
                    run.epochs, run.batchSize, num(run.lr), pool.name().toLowerCase(Locale.ROOT));
            o.flush();
            Throughput throughput = new Throughput();
            SequenceClassifier classifier = ClassifierModel.classifier(model);
            t = System.nanoTime();
            TrainingArguments args = maxSteps.apply(TrainingArguments.builder().optEpochs(run.epochs)
                    .optLearningRate(run.lr)
                    .optBatchSize(run.batchSize).optEvalBatchSize(EVAL_BATCH).optMaxLength(run.maxLength)
                    .optGradientAccumulation(run.gradAccum).optSeed(run.seed).optOutputDir(adapterDir)
                    .optProgressBar(true).optTrainingCurve(true).optOverwriteOutputDir(false)
                    .optOptimizer(optim.optimizer())).build();
            FineTuner tuner = AdapterRun.tuner(peft, peft::save, args, throughput).setTrainData(train).build();
            TrainingResult result = AdapterRun.fit(tuner, adapterDir);
            double trainSeconds = seconds(t);
            EvaluationResult tuned = tuner.evaluate(test);
            o.printf(Locale.ROOT, "fine-tuned: test accuracy %.4f, macro-F1 %.4f (baseline %.4f; %+.1f points)%n",
                    tuned.accuracy(), tuned.macroF1(), baseline.accuracy(),
                    100 * (tuned.accuracy() - baseline.accuracy()));
            o.printf(Locale.ROOT, "training: %d steps in %.0f s, %.1f examples/s, %.0f tokens/s%n",
                    result.finalStep(), trainSeconds, throughput.examples / trainSeconds,
                    throughput.tokens / trainSeconds);
            o.flush();

            peft.save(adapterDir);
            train.labels().withMetadata(Map.of("task", "classify", "text_field", "text", "label_field", "label",
                    "pooling", pool.name().toLowerCase(Locale.ROOT), "max_length", Integer.toString(run.maxLength),
                    "base_model", Builtins.ALL_MINILM_L6_V2)).write(adapterDir.resolve(LabelSet.FILE_NAME));
            Integer agree = null;
            if (m.mergeable()) {
                // a 4-bit base is dequantized and merged in float32: what the adapted model computes, not re-rounded
                BertForSequenceClassification merged = (BertForSequenceClassification) peft.mergeAndUnloadDense();
                HfModelWriter.save(merged, ClassifierConfigJson.of(files.config().json(), merged.labels(),
                        merged.pooling()), files.files().tokenizerFiles(), mergedDir);
                BertForSequenceClassification reloaded = BertForSequenceClassification.loader()
                        .setModelDir(mergedDir).setManager(manager).optPooling(pool).load();
                agree = MergedCheck.agreement(reloaded, classifier, test, EVAL_BATCH, manager);
                o.printf(Locale.ROOT, "merged model reloaded from %s: same prediction as the adapted model on %d of"
                        + " the first %d test reviews%n", mergedDir, agree, MergedCheck.size(test));
            } else {
                o.printf(Locale.ROOT, "merge skipped: %s adapters cannot be merged into the base weights; the"
                        + " adapter directory is the result (load it with --adapter)%n", m.displayName());
            }

            summary.put("method", m.name());
            summary.put("learning_rate", run.lr);
            summary.put("epochs", run.epochs);
            summary.put("quick", quick);
            summary.put("quantize", quantize.enabled() ? quantize.type.bnbName() : null);
            summary.put("train_examples", train.size());
            summary.put("test_examples", test.size());
            summary.put("baseline_accuracy", baseline.accuracy());
            summary.put("baseline_macro_f1", baseline.macroF1());
            summary.put("accuracy", tuned.accuracy());
            summary.put("macro_f1", tuned.macroF1());
            summary.put("merged_agreement", agree);
            summary.put("trainable_parameters", trainable);
            summary.put("optimizer", args.optimizer().name());

            summary.put("trainable_percent", trainablePercent);
            summary.put("steps", result.finalStep());
            summary.put("train_seconds", trainSeconds);
            summary.put("examples_per_second", throughput.examples / trainSeconds);
            summary.put("tokens_per_second", throughput.tokens / trainSeconds);
        }
        double wall = seconds(start);
        summary.put("wall_seconds", wall);
        PeakMemory.bytes().ifPresent(b -> summary.put("peak_rss_mib", b / (1024.0 * 1024.0)));
        summary.put("load_average_start", loadBefore);
        summary.put("load_average_end", loadAverage());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.resolve(SUMMARY).toFile(), summary);
        o.printf(Locale.ROOT, "done in %.0f s (peak RSS %s)%n", wall, summary.containsKey("peak_rss_mib")
                ? String.format(Locale.ROOT, "%.0f MiB", (Double) summary.get("peak_rss_mib")) : "unknown");
        o.println("saved:");
        o.println("  adapter (PEFT format):  " + adapterDir + "  (adapter_config.json, "
                + (method.method().name().equals(BottleneckRecipe.NAME) ? "adapter.safetensors" : "adapter_model.safetensors")
                + ", labels.json)");
        o.println("  training log:           " + adapterDir.resolve("metrics.jsonl") + ", "
                + adapterDir.resolve("training-curve.png"));
        if (Files.isDirectory(mergedDir)) {
            o.println("  merged model (HF dir):  " + mergedDir + "  (config.json, model.safetensors, tokenizer.json)");
        }
        o.println("  summary:                " + out.resolve(SUMMARY));
        o.println("evaluate the adapter again with: peft4j eval --model " + Builtins.ALL_MINILM_L6_V2 + " --adapter "
                + adapterDir + " --data " + testFile + quantize.commandLine());
        o.flush();
        return 0;
    }

    /** Clears a previous demo run in {@code dir}; refuses a non-empty directory that is not one. */
    private static void prepare(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            boolean empty;
            try (Stream<Path> s = Files.list(dir)) {
                empty = s.findAny().isEmpty();
            }
            if (!empty && !Files.isRegularFile(dir.resolve(MARKER))) {
                throw new IllegalStateException("--out " + dir + " is not empty and holds no earlier demo run;"
                        + " choose another --out");
            }
            for (String sub : List.of("adapter", "merged", "data", SUMMARY)) {
                deleteRecursively(dir.resolve(sub));
            }
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(MARKER), "peft4j demo output; a re-run of the demo replaces its files\n");
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e6 ? Long.toString((long) v) : Double.toString(v);
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Sums examples and tokens over the run's steps. */
    private static final class Throughput implements StepListener {
        long examples;
        long tokens;

        @Override
        public void onStep(StepMetrics m) {
            examples += m.examples();
            tokens += m.tokens();
        }
    }
}
