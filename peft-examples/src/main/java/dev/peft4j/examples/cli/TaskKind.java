package dev.peft4j.examples.cli;

import dev.peft4j.lora.LoraRecipe;
import picocli.CommandLine;

import java.util.List;

/** The tasks {@code train} knows, with their LoRA targets ({@link LoraRecipe}). */
enum TaskKind {
    /** Text classification: a BERT classifier. */
    CLASSIFY("classify", "SEQ_CLS", LoraRecipe.TARGETS_BERT),
    /** Causal language modelling: a Llama-family model. */
    CAUSAL_LM("causal-lm", "CAUSAL_LM", LoraRecipe.TARGETS_LLAMA);

    final String cliName;
    final String peftTaskType;
    final List<String> defaultTargets;

    TaskKind(String cliName, String peftTaskType, List<String> defaultTargets) {
        this.cliName = cliName;
        this.peftTaskType = peftTaskType;
        this.defaultTargets = defaultTargets;
    }

    /** Accepts {@code classify} and {@code causal-lm}. */
    static final class Converter implements CommandLine.ITypeConverter<TaskKind> {
        @Override
        public TaskKind convert(String value) {
            for (TaskKind t : values()) {
                if (t.cliName.equals(value)) {
                    return t;
                }
            }
            throw new CommandLine.TypeConversionException("expected classify or causal-lm, got '" + value + "'");
        }
    }
}
