package dev.peft4j.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.lora.LoraConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * LoRA on the built-in all-MiniLM-L6-v2: tell great food reviews ({@code great} = 5 stars) from the
 * rest, with the fine-foods reviews bundled in this jar (4,000 training, 1,000 test), then save the
 * adapter, reload it, merge it and export a Hugging Face directory that must predict the same.
 *
 * <pre>
 * java -cp peft-examples/target/peft4j.jar dev.peft4j.examples.ClassifyReviews \
 *     [--epochs 1] [--max-length 128] [--train 4000] [--test 1000] [--threads N] [--out DIR]
 * </pre>
 *
 * Prints {@code test accuracy 0.xxx} and where the adapter and the export went (default: a new
 * temporary directory). {@code --threads 1} is faster on a busy machine.
 */
public final class ClassifyReviews {

    private static final String DATA = "/dev/peft4j/examples/data/fine-foods/";
    private static final String MODEL = "builtin:all-minilm-l6-v2";

    private ClassifyReviews() {}

    /**
     * @param args the options above
     * @throws Exception when loading, training or saving fails, or the export predicts otherwise
     */
    public static void main(String[] args) throws Exception {
        threads(args);
        List<LabeledText> train = reviews("train.jsonl", Integer.parseInt(option(args, "--train", "4000")));
        List<LabeledText> test = reviews("test.jsonl", Integer.parseInt(option(args, "--test", "1000")));
        Path out = outDir(args, "classify-reviews");
        Path adapterDir = out.resolve("adapter");
        Path mergedDir = out.resolve("merged");
        int maxLength = Integer.parseInt(option(args, "--max-length", "128"));   // tokens per review
        PretrainedOptions options = PretrainedOptions.builder()
                .optLabels(List.of("great", "other")).optPooling(Pooling.MEAN).optMaxLength(maxLength).build();

        // 1. Wrap the frozen encoder: LoRA on query/value, the new classifier head trained in full.
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(MODEL, options)) {
            LoraConfig lora = LoraConfig.builder().setTargetModules("query", "value")
                    .optModulesToSave(List.of("classifier")).optTaskType("SEQ_CLS").build();
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, lora);
            peft.printTrainableParameters();

            // 2. Train (AdamW, lr 1e-3, warmup, linear decay, batch 16: TrainingDefaults) and evaluate.
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(train)
                    .optArguments(TrainingArguments.builder()
                            .optEpochs(Integer.parseInt(option(args, "--epochs", "1")))
                            .optMaxLength(maxLength).build())
                    .build();
            tuner.fit();
            System.out.printf("test accuracy %.3f%n", tuner.evaluate(test).accuracy());
            peft.save(adapterDir);   // adapter_config.json + adapter_model.safetensors, as Python PEFT writes
        }

        // 3. Reload the adapter on a fresh base, merge it into the weights, export a plain HF directory.
        List<String> texts = test.stream().map(LabeledText::text).toList();
        List<Prediction> adapted;
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(MODEL, options)) {
            PeftModel<BertForSequenceClassification> peft = PeftModel.load(model, adapterDir);
            adapted = model.predict(texts);
            peft.mergeAndUnload().savePretrained(mergedDir);
        }

        // 4. The export loads alone (labels and pooling come from its config.json) and predicts the same.
        PretrainedOptions sameLength = PretrainedOptions.builder().optMaxLength(maxLength).build();
        try (BertForSequenceClassification merged =
                BertForSequenceClassification.fromPretrained(mergedDir.toString(), sameLength)) {
            List<Prediction> exported = merged.predict(texts);
            for (int i = 0; i < texts.size(); i++) {
                Prediction a = adapted.get(i);
                Prediction e = exported.get(i);
                if (!a.label().equals(e.label()) || Math.abs(a.confidence() - e.confidence()) > 1e-4) {
                    throw new IllegalStateException("review " + i + ": adapted " + a + ", exported " + e);
                }
            }
        }
        System.out.printf("exported model predicts as the adapted one on all %d test reviews%n", texts.size());
        System.out.println("adapter: " + adapterDir + System.lineSeparator() + "merged model: " + mergedDir);
    }

    /** The first {@code limit} reviews of a bundled JSONL file ({@code text}, {@code label}). */
    static List<LabeledText> reviews(String file, int limit) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<LabeledText> rows = new ArrayList<>();
        try (InputStream in = ClassifyReviews.class.getResourceAsStream(DATA + file);
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null && rows.size() < limit; line = r.readLine()) {
                JsonNode row = json.readTree(line);
                rows.add(new LabeledText(row.get("text").asText(), row.get("label").asText()));
            }
        }
        return rows;
    }

    /** {@code --threads N}: PyTorch's compute threads, set before the engine starts. */
    static void threads(String[] args) {
        String threads = option(args, "--threads", null);
        if (threads != null) {
            System.setProperty("ai.djl.pytorch.num_threads", threads);
        }
    }

    /** {@code --out DIR}, else a new temporary directory named after the example. */
    static Path outDir(String[] args, String example) throws IOException {
        String out = option(args, "--out", null);
        return out != null ? Path.of(out) : Files.createTempDirectory(example);
    }

    /** The value after {@code name} in {@code args}, else {@code fallback}. */
    static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
