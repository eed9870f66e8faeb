package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.data.CausalLmDataset;
import dev.peft4j.core.data.ChatTemplate;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.task.ClassificationMetrics;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.AdapterSaver;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingDefaults;
import dev.peft4j.core.train.TrainingResult;
import dev.peft4j.core.peft.PeftModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code peft4j train}: fine-tunes an adapter of any PEFT method ({@code --method}, default LoRA) for text classification (BERT, with a trained
 * classifier head saved as {@code modules_to_save}) or causal language modelling (Llama family),
 * and writes into {@code --out} the adapter in PEFT format, {@code labels.json} (classification),
 * {@code metrics.jsonl}, {@code training-curve.png} and the trainer's checkpoints.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tune an adapter (--method, default lora) and save it in PEFT format (bottleneck: AdapterHub's).",
            "classify: M is builtin:all-minilm-l6-v2 or a BERT directory; rows have a text and a label field"
                    + " (JSONL or CSV); the classifier head is trained too.",
            "causal-lm: M is a Llama/Qwen2/Mistral directory; JSONL rows are {prompt, completion},"
                    + " {messages: [{role, content}]}, {text} or pre-tokenized {input_ids[, prompt_len | labels]}."
        })
final class TrainCommand extends CliCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "Model id or directory.")
    String model;

    @Option(names = "--task", required = true, paramLabel = "classify|causal-lm", converter = TaskKind.Converter.class,
            description = "What to train.")
    TaskKind task;

    @Option(names = "--train", required = true, paramLabel = "FILE", description = "Training data (.jsonl or .csv).")
    Path trainFile;

    @Option(names = "--eval", paramLabel = "FILE",
            description = "Evaluation data, evaluated at every epoch end (metrics.jsonl, summary); the best"
                    + " trainable weights by accuracy (classify) or loss (causal-lm) are kept in OUT/best.")
    Path evalFile;

    @Option(names = "--text-field", defaultValue = "text", paramLabel = "NAME",
            description = "classify: the field holding the text (default text).")
    String textField;

    @Option(names = "--label-field", defaultValue = "label", paramLabel = "NAME",
            description = "classify: the field holding the label (default label).")
    String labelField;

    @Option(names = "--pooling", defaultValue = TrainingDefaults.POOLING, paramLabel = "mean|cls|pooler",
            description = "classify: the sequence vector fed to the head (default ${DEFAULT-VALUE}).")
    String pooling;

    @Option(names = "--chat-template", defaultValue = "chatml", paramLabel = "chatml|plain",
            description = "causal-lm: the template of messages rows (default chatml).")
    String chatTemplate;

    @Mixin MethodOptions method;

    @Mixin RunOptions run;

    @Mixin QuantizeOptions quantize;

    @Mixin OptimizerOptions optim;

    @Mixin MaxStepsOption maxSteps;

    @Mixin CheckpointingOptions checkpointing;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    Path out;

    @Option(names = "--resume", description = "Continue the run in --out from its newest checkpoint.")
    boolean resume;

    @Option(names = "--baseline",
            description = "classify: also fit the frozen-embedding baseline (logistic regression on the untouched"
                    + " encoder's mean-pooled embeddings of the training rows), scored on --eval: baseline_accuracy"
                    + " and baseline_macro_f1 in the summary.")
    boolean baseline;

    @Option(names = "--skip-bad-rows", description = "Skip unusable rows (counted and reported) instead of failing.")
    boolean skipBadRows;

    @Override
    int run() throws Exception {
        method.validate(task.peftTaskType, model, modelDir());
        method.applyTrainingDefaults(run);
        run.check();
        maxSteps.check();
        quantize.config();
        optim.optimizer(); // a bad --optim fails before the model loads
        ModelFiles files = ModelFiles.resolve(model);
        Map<String, Object> summary = task == TaskKind.CLASSIFY ? classify(files) : causalLm(files);
        PrintWriter out = out();
        out.println(new ObjectMapper().writeValueAsString(summary));
        out.flush();
        return 0;
    }

    private Map<String, Object> classify(ModelFiles files) throws Exception {
        Pooling pool = Pooling.parse(pooling);
        ClassifierModel.checkMaxLength(files, run.maxLength);
        if (baseline && evalFile == null) {
            throw new IllegalArgumentException("--baseline needs --eval: the baseline is scored on the eval rows");
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = files.classificationTokenizer(run.maxLength)) {
            ClassificationDataset train = ClassificationDataset.builder().setFile(trainFile).setTokenizer(tokenizer)
                    .optTextField(textField).optLabelField(labelField).optSkipBadRows(skipBadRows).build();
            ClassificationDataset eval = evalFile == null ? null : ClassificationDataset.builder().setFile(evalFile)
                    .setTokenizer(tokenizer).optTextField(textField).optLabelField(labelField)
                    .optLabels(train.labels()).optSkipBadRows(skipBadRows).build();
            ClassificationMetrics frozen = null;
            if (baseline) {
                long t0 = System.nanoTime();
                frozen = EmbeddingBaseline.run(files, train, eval, 2 * run.batchSize);
                printInfo(String.format(Locale.ROOT, "baseline (frozen mean-pooled embeddings + logistic regression):"
                        + " eval accuracy %.4f (%.0f s)", frozen.accuracy(), (System.nanoTime() - t0) / 1e9));
            }
            BertForSequenceClassification base = ClassifierModel.load(files, train.labels().labels(), pool, manager,
                    quantize.weightLoader(files.config()), run.seed);
            reportQuantized(base);
            PeftModel<?> peft = method.wrap(base, task.peftTaskType, List.of("classifier"), model, modelDir(),
                    run.seed, manager);
            checkpointing.apply(peft);
            printInfo(peft.trainableParameters().toString());
            printInfo("train: " + train.size() + " examples, labels " + train.labels().labels()
                    + skipped(train.skippedRows()));
            LabelSet labelsJson = labels(train.labels(), pool);
            AdapterSaver saver = dir -> {
                peft.save(dir);
                labelsJson.write(dir.resolve(LabelSet.FILE_NAME));
            };
            FineTuner.Builder tuner = AdapterRun.tuner(peft, saver, trainingArguments(), null)
                    .setTrainData(train);
            if (eval != null) {
                tuner.optEvalData(eval);
            }
            TrainingResult result = AdapterRun.fit(tuner.build(), out);
            peft.save(out);
            labelsJson.write(out.resolve(LabelSet.FILE_NAME));
            summary.put("task", task.cliName);
            putMethod(summary, peft);
            summary.put("train_examples", train.size());
            summary.put("skipped_rows", train.skippedRows() + (eval == null ? 0 : eval.skippedRows()));
            summary.put("steps", result.finalStep());
            summary.put("final_loss", result.losses().isEmpty() ? null : result.losses().get(result.losses().lastKey()));
            summary.putAll(result.finalMetrics());
            if (frozen != null) {
                summary.put("baseline_accuracy", frozen.accuracy());
                summary.put("baseline_macro_f1", frozen.macroF1());
            }
            summary.put("adapter", out.toString());
        }
        return summary;
    }

    private LabelSet labels(LabelSet labels, Pooling pool) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("task", task.cliName);
        meta.put("text_field", textField);
        meta.put("label_field", labelField);
        meta.put("pooling", pool.name().toLowerCase(Locale.ROOT));
        meta.put("max_length", Integer.toString(run.maxLength));
        meta.put("base_model", model);
        return labels.withMetadata(meta);
    }

    private Map<String, Object> causalLm(ModelFiles files) throws Exception {
        ChatTemplate template = ChatTemplate.parse(chatTemplate);
        Map<String, Object> summary = new LinkedHashMap<>();
        try (NDManager manager = NDManager.newBaseManager();
                CausalLmData data = new CausalLmData(files)) {
            CausalLmDataset train = data.load(trainFile, run.maxLength, template, skipBadRows);
            CausalLmDataset eval = evalFile == null ? null : data.load(evalFile, run.maxLength, template, skipBadRows);
            LlamaForCausalLM base = quantize.loadLlama(files.dir(), manager);
            reportQuantized(base);
            PeftModel<?> peft = method.wrap(base, task.peftTaskType, List.of(), model, modelDir(), run.seed,
                    manager);
            checkpointing.apply(peft);
            printInfo(peft.trainableParameters().toString());
            printInfo("train: " + train.size() + " sequences" + skipped(train.skippedRows()));
            FineTuner.Builder tuner = AdapterRun.tuner(peft, peft::save, trainingArguments(), null).setTrainData(train);
            if (eval != null) {
                tuner.optEvalData(eval);
            }
            TrainingResult result = AdapterRun.fit(tuner.build(), out);
            peft.save(out);
            summary.put("task", task.cliName);
            putMethod(summary, peft);
            summary.put("train_sequences", train.size());
            summary.put("skipped_rows", train.skippedRows() + (eval == null ? 0 : eval.skippedRows()));
            summary.put("steps", result.finalStep());
            summary.put("final_loss", result.losses().isEmpty() ? null : result.losses().get(result.losses().lastKey()));
            summary.putAll(result.finalMetrics());
            summary.put("adapter", out.toString());
        }
        return summary;
    }

    private TrainingArguments trainingArguments() {
        return maxSteps.apply(AdapterRun.builder(run, out, resume, true, optim)).build();
    }

    /** The method, its trainable parameters (count and percentage of the whole model) and its budget. */
    private void putMethod(Map<String, Object> summary, PeftModel<?> peft) {
        summary.put("method", method.method().name());
        summary.put("trainable_parameters", peft.trainableParameters().trainable());
        summary.put("trainable_percent", peft.trainableParameters().percent());
        summary.put("learning_rate", run.lr);
        summary.put("epochs", run.epochs);
    }

    /** @return the model directory, or null for a builtin model */
    private Path modelDir() {
        return Builtins.isBuiltin(model) ? null : Path.of(model);
    }

    private void reportQuantized(Module base) {
        long fourBit = QuantizeOptions.fourBitLayers(base);
        if (fourBit > 0) {
            printInfo(quantize.enabled() ? "quantized " + fourBit + " linear layers to " + quantize.describe()
                    : "loaded " + fourBit + " 4-bit linear layers as saved");
        }
    }

    private static String skipped(int n) {
        return n == 0 ? "" : " (" + n + " bad rows skipped)";
    }

    /** Progress lines go to stderr so that stdout holds only the JSON summary. */
    private void printInfo(String line) {
        PrintWriter err = spec.commandLine().getErr();
        err.println(line);
        err.flush();
    }
}
