import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.lora.LoraConfig;

import java.nio.file.Path;
import java.util.List;

public class Main {
    public static void main(String[] args) throws Exception {
        // AutoModelForSequenceClassification: the encoder plus a new two-label head (mean-pooled, 128 tokens)
        PretrainedOptions options = PretrainedOptions.builder().optLabels(List.of("great", "other"))
                .optPooling(Pooling.MEAN).optMaxLength(128).build();
        try (BertForSequenceClassification model =
                BertForSequenceClassification.fromPretrained("builtin:all-minilm-l6-v2", options)) {
            // get_peft_model: freeze the base, LoRA on query/value, train the head in full
            LoraConfig lora = LoraConfig.builder().setTargetModules("query", "value")
                    .optModulesToSave(List.of("classifier")).optTaskType("SEQ_CLS").build();
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, lora);
            peft.printTrainableParameters();
            // Trainer(...).train() on JSONL rows {"text": ..., "label": ...} (or a List<LabeledText>)
            FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(Path.of("train.jsonl"))
                    .optArguments(TrainingArguments.builder().optEpochs(1).build()).build();
            tuner.fit();
            System.out.printf("test accuracy %.3f%n", tuner.evaluate(Path.of("test.jsonl")).accuracy());
            System.out.println(model.predict(List.of("The best coffee I have ever had.")));
            peft.save(Path.of("reviews-adapter"));                             // adapter in PEFT's format
            peft.mergeAndUnload().savePretrained(Path.of("reviews-model"));   // plain Hugging Face directory
        }
    }
}
