package dev.peft4j.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.peft4j.core.adapter.TrainableParameters;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.EvaluationResult;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.StepListener;
import dev.peft4j.core.train.StepMetrics;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingDefaults;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.peft.MethodRecipes;
import dev.peft4j.lora.LoraRecipe;
import dev.peft4j.tuners.bitfit.BitFitRecipe;
import dev.peft4j.tuners.bottleneck.BottleneckRecipe;
import dev.peft4j.tuners.ia3.Ia3Recipe;
import dev.peft4j.tuners.prompt.PTuningRecipe;
import dev.peft4j.tuners.prompt.PrefixTuningRecipe;
import dev.peft4j.tuners.prompt.PromptTuningRecipe;
import dev.peft4j.core.train.ParameterOptimizer;
import dev.peft4j.examples.cli.OptimizerOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One row of the method comparison in {@code docs/methods.md}: trains one PEFT method (and the
 * classifier head) on the built-in all-MiniLM-L6-v2 with the fine-foods reviews bundled in this
 * jar, evaluates it and writes the figures as JSON. Every method gets the same data and the same
 * budget ({@link #EPOCHS} epochs); its configuration and learning rate are its defaults, its
 * {@link MethodRecipe} (found by name in {@link MethodRecipes}), as {@code peft4j train/demo --method
 * NAME} use them.
 *
 * <pre>
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.CompareMethods --method lora \
 *     [--epochs 1] [--lr X] [--train 4000] [--test 1000] [--holdout N] [--max-length 128] \
 *     [--threads N] [--optim adamw|adamw-8bit|paged-adamw|paged-adamw-8bit|sgd] [--optim-min-8bit-size N] \
 *     [--seed N] [--out lora.json]
 * </pre>
 *
 * {@code --optim} and its options are {@code peft4j train}'s ({@link OptimizerOptions}; default
 * {@code adamw}), passed into the training arguments the same way; the JSON records the name.
 *
 * {@code --seed N} seeds both the adapter's initialization and the training run (shuffling,
 * dropout); without it they keep their defaults ({@code PeftModel.wrap}'s 0 and {@link
 * TrainingDefaults#SEED}), so earlier rows reproduce. Repeating a comparison over seeds separates
 * a difference between two settings from seed-to-seed spread.
 *
 * {@code --holdout N} is for tuning: train on the first {@code --train} training reviews and
 * evaluate on the next {@code N} training reviews, never on the test reviews. {@code
 * scripts/compare-methods.sh} runs this once per method, each in its own JVM, then {@link
 * MethodsReport} turns the JSON files into the table and chart.
 */
public final class CompareMethods {

    /**
     * Passes over the training reviews, the same for every method: one epoch (250 steps of 16) keeps
     * the seven runs within about 30 minutes on a quiet 2-core machine.
     */
    public static final int EPOCHS = 1;

    private static final String MODEL = "builtin:all-minilm-l6-v2";
    private static final int MIB = 1024 * 1024;

    private CompareMethods() {}

    /**
     * @param args the options above
     * @throws Exception when loading, training or writing fails
     */
    public static void main(String[] args) throws Exception {
        ClassifyReviews.threads(args);
        MethodRecipe method = MethodRecipes.forName(ClassifyReviews.option(args, "--method", "lora"));
        int trainRows = Integer.parseInt(ClassifyReviews.option(args, "--train", "4000"));
        int holdout = Integer.parseInt(ClassifyReviews.option(args, "--holdout", "0"));
        int epochs = Integer.parseInt(ClassifyReviews.option(args, "--epochs", "" + EPOCHS));
        double lr = Double.parseDouble(ClassifyReviews.option(args, "--lr", "" + method.learningRate()));
        int maxLength = Integer.parseInt(ClassifyReviews.option(args, "--max-length", "128"));
        Path out = Path.of(ClassifyReviews.option(args, "--out", method.name() + ".json"));
        String seedOption = ClassifyReviews.option(args, "--seed", null);
        long adapterSeed = seedOption == null ? 0L : seed(seedOption);
        long trainSeed = seedOption == null ? TrainingDefaults.SEED : adapterSeed;
        OptimizerOptions optim = OptimizerOptions.parse(args);
        ParameterOptimizer optimizer = optim.optimizer(); // a bad --optim fails before the model loads

        List<LabeledText> train;
        List<LabeledText> test;
        if (holdout > 0) {
            List<LabeledText> all = ClassifyReviews.reviews("train.jsonl", trainRows + holdout);
            train = all.subList(0, trainRows);
            test = all.subList(trainRows, all.size());
        } else {
            train = ClassifyReviews.reviews("train.jsonl", trainRows);
            test = ClassifyReviews.reviews("test.jsonl", Integer.parseInt(ClassifyReviews.option(args, "--test",
                    "1000")));
        }
        PretrainedOptions options = PretrainedOptions.builder().optLabels(List.of("great", "other"))
                .optPooling(Pooling.MEAN).optMaxLength(maxLength).build();

        Map<String, Object> summary = new LinkedHashMap<>();
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(MODEL, options)) {
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model,
                    method.defaultConfig("SEQ_CLS", List.of("classifier")), adapterSeed);
            TrainableParameters params = peft.trainableParameters();
            System.out.printf(Locale.ROOT, "%s (%s): %s%n", method.name(), settings(method), params);
            Throughput throughput = new Throughput();
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(train).addListener(throughput)
                    .optArguments(TrainingArguments.builder().optEpochs(epochs).optLearningRate(lr)
                            .optMaxLength(maxLength).optOptimizer(optimizer).optSeed(trainSeed).build())
                    .build();
            long start = System.nanoTime();
            tuner.fit();
            double trainSeconds = (System.nanoTime() - start) / 1e9;
            EvaluationResult result = tuner.evaluate(test);
            System.out.printf(Locale.ROOT, "%s: %s accuracy %.4f, macro-F1 %.4f; trained in %.0f s (%.1f examples/s)%n",
                    method.name(), holdout > 0 ? "held-out" : "test", result.accuracy(), result.macroF1(),
                    trainSeconds, throughput.examples / trainSeconds);

            summary.put("method", method.name());
            summary.put("settings", settings(method));
            summary.put("learning_rate", lr);
            summary.put("optimizer", optimizer.name());
            summary.put("epochs", epochs);
            summary.put("seed", seedOption == null ? "default" : seedOption);
            summary.put("max_length", maxLength);
            summary.put("train_examples", train.size());
            summary.put(holdout > 0 ? "holdout_examples" : "test_examples", test.size());
            summary.put("evaluated_on", holdout > 0 ? "held-out training reviews" : "test");
            summary.put("trainable_parameters", params.trainable());
            summary.put("all_parameters", params.all());
            summary.put("trainable_percent", params.percent());
            summary.put("accuracy", result.accuracy());
            summary.put("macro_f1", result.macroF1());
            summary.put("final_train_loss", throughput.lastLoss);
            summary.put("train_seconds", trainSeconds);
            summary.put("examples_per_second", throughput.examples / trainSeconds);
            summary.put("tokens_per_second", throughput.tokens / trainSeconds);
        }
        peakRssMib().ifPresent(mib -> summary.put("peak_rss_mib", mib));
        summary.put("load_average", loadAverage());
        write(out, summary);
        System.out.println("summary: " + out);
    }

    private static long seed(String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--seed must be an integer, got '" + value + "'", e);
        }
    }

    /** The method's default settings in words, for the table. */
    static String settings(MethodRecipe method) {
        return switch (method.name()) {
            case LoraRecipe.NAME -> String.format(Locale.ROOT, "r=%d, alpha %.0f, %s", LoraRecipe.R,
                    LoraRecipe.ALPHA, String.join("+", LoraRecipe.TARGETS_BERT));
            case Ia3Recipe.NAME -> "PEFT's BERT targets: key, value, output.dense";
            case PromptTuningRecipe.NAME -> PromptTuningRecipe.VIRTUAL_TOKENS + " virtual tokens, "
                    + PromptTuningRecipe.INIT.name() + " init";
            case PTuningRecipe.NAME -> PTuningRecipe.VIRTUAL_TOKENS + " virtual tokens, MLP "
                    + PTuningRecipe.ENCODER_HIDDEN_SIZE;
            case PrefixTuningRecipe.NAME -> PrefixTuningRecipe.VIRTUAL_TOKENS + " virtual tokens per layer"
                    + (PrefixTuningRecipe.PROJECTION ? ", projection" : "");
            case BottleneckRecipe.NAME -> BottleneckRecipe.PRESET.cliName() + ", reduction "
                    + BottleneckRecipe.builder(BottleneckRecipe.PRESET, "SEQ_CLS").build().reductionFactor();
            case BitFitRecipe.NAME -> "bias terms: " + BitFitRecipe.BIAS_TERMS;
            default -> "defaults";
        };
    }

    /** Writes the summary through a temporary file, so a half-written summary never exists. */
    private static void write(Path out, Map<String, Object> summary) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, out.getFileName().toString(), ".tmp");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), summary);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** {@code VmHWM} of {@code /proc/self/status}: the process's peak resident set size, where Linux has it. */
    private static java.util.Optional<Double> peakRssMib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return java.util.Optional.of(Long.parseLong(line.substring(6).trim().split("\\s+")[0])
                            * 1024.0 / MIB);
                }
            }
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.empty();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Sums examples and tokens over the steps and keeps the last loss. */
    private static final class Throughput implements StepListener {
        long examples;
        long tokens;
        double lastLoss = Double.NaN;

        @Override
        public void onStep(StepMetrics m) {
            examples += m.examples();
            tokens += m.tokens();
            lastLoss = m.loss();
        }
    }
}
