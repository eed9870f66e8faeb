package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.data.CausalLmDataset;
import dev.peft4j.core.data.ChatTemplate;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.task.CausalLmTask;
import dev.peft4j.core.task.ClassificationTask;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.TrainingDefaults;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code peft4j eval}: evaluates a base model with a LoRA adapter on a data file and prints one
 * JSON object: accuracy and macro-F1 for a classification adapter (its directory has {@code
 * labels.json}), mean loss per trained token and perplexity otherwise.
 */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description = {
            "Evaluate an adapter; prints JSON.",
            "Classification adapters (with labels.json): {\"task\":\"classify\",\"accuracy\":…,\"macro_f1\":…}.",
            "Causal-LM adapters: {\"task\":\"causal-lm\",\"loss\":…,\"perplexity\":…}."
        })
final class EvalCommand extends CliCommand {

    @Option(names = "--model", required = true, paramLabel = "M", description = "The base model the adapter was trained on.")
    String model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "The adapter directory (any method; see embed).")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "Evaluation data (.jsonl or .csv).")
    Path data;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "B", description = "Examples per forward pass.")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "0", paramLabel = "L",
            description = "Tokens per example (default: the training's, from labels.json; 512 for causal-lm).")
    int maxLength;

    @Option(names = "--chat-template", defaultValue = "chatml", paramLabel = "chatml|plain",
            description = "causal-lm: the template of messages rows (default chatml).")
    String chatTemplate;

    /** Quantize the base as the adapter was trained (QLoRA). */
    @Mixin QuantizeOptions quantize;

    @Option(names = "--skip-bad-rows", description = "Skip unusable rows (counted in the output) instead of failing.")
    boolean skipBadRows;

    @Override
    int run() throws Exception {
        if (batchSize <= 0 || maxLength < 0) {
            throw new IllegalArgumentException("--batch-size must be positive and --max-length not negative");
        }
        quantize.config();
        AdapterInput.readConfig(adapter);
        ModelFiles files = ModelFiles.resolve(model);
        Path labelsFile = adapter.resolve(LabelSet.FILE_NAME);
        Map<String, Object> result = Files.isRegularFile(labelsFile)
                ? classify(files, LabelSet.read(labelsFile)) : causalLm(files);
        PrintWriter out = out();
        out.println(new ObjectMapper().writeValueAsString(result));
        out.flush();
        return 0;
    }

    private Map<String, Object> classify(ModelFiles files, LabelSet labels) throws Exception {
        Map<String, String> meta = labels.metadata();
        int len = maxLength > 0 ? maxLength : Integer.parseInt(meta.getOrDefault("max_length", Integer.toString(TrainingDefaults.MAX_LENGTH)));
        ClassifierModel.checkMaxLength(files, len);
        Pooling pooling = Pooling.parse(meta.getOrDefault("pooling", "mean"));
        try (NDManager manager = NDManager.newBaseManager();
                TextTokenizer tokenizer = files.classificationTokenizer(len)) {
            ClassificationDataset ds = ClassificationDataset.builder().setFile(data).setTokenizer(tokenizer)
                    .optTextField(meta.getOrDefault("text_field", "text"))
                    .optLabelField(meta.getOrDefault("label_field", "label"))
                    .optLabels(LabelSet.of(labels.labels())).optSkipBadRows(skipBadRows).build();
            BertForSequenceClassification base = ClassifierModel.load(files, labels.labels(), pooling, manager,
                    quantize.weightLoader(files.config()));
            AdapterInput.load(base, adapter, List.of(model), manager, spec.commandLine().getErr());
            ClassificationTask.ClassificationEvaluation e = ClassificationTask.evaluate(
                    new ParameterStore(manager, false), manager, ds, ClassifierModel.classifier(base), batchSize);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("task", TaskKind.CLASSIFY.cliName);
            out.put("examples", ds.size());
            out.put("skipped_rows", ds.skippedRows());
            out.put("accuracy", e.metrics().accuracy());
            out.put("macro_f1", e.metrics().macroF1());
            out.put("loss", e.loss());
            return out;
        }
    }

    private Map<String, Object> causalLm(ModelFiles files) throws Exception {
        int len = maxLength > 0 ? maxLength : 512;
        try (NDManager manager = NDManager.newBaseManager();
                CausalLmData loader = new CausalLmData(files)) {
            CausalLmDataset ds = loader.load(data, len, ChatTemplate.parse(chatTemplate), skipBadRows);
            LlamaForCausalLM base = quantize.loadLlama(files.dir(), manager);
            AdapterInput.load(base, adapter, List.of(model), manager, spec.commandLine().getErr());
            CausalLmTask.CausalLmEvaluation e = CausalLmTask.evaluate(new ParameterStore(manager, false), manager, ds,
                    CausalLmData.languageModel(base), batchSize);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("task", TaskKind.CAUSAL_LM.cliName);
            out.put("sequences", ds.size());
            out.put("tokens", e.tokens());
            out.put("skipped_rows", ds.skippedRows());
            out.put("loss", e.loss());
            out.put("perplexity", e.perplexity());
            return out;
        }
    }
}
