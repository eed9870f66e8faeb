package dev.peft4j.examples;

import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.tuners.bitfit.BitFitConfig;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.ia3.Ia3Config;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PromptEncoderConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningInit;

import java.util.List;
import java.util.Locale;

/**
 * A method's settings for the fine-foods comparison ({@link CompareMethods}): its configuration
 * for a MiniLM sequence classifier (the head trained in full) and its peak learning rate, tuned on
 * 1,000 training reviews against 500 held-out training reviews (see {@code docs/methods.md}).
 * Options on the command line override the method's size: {@code --r}, {@code --num-virtual-tokens},
 * {@code --reduction-factor}.
 *
 * @param name the method as {@code --method} spells it
 * @param learningRate the tuned peak learning rate (AdamW, 6% warmup, linear decay)
 */
public record MethodRecipe(String name, double learningRate) {

    /** The methods in the order of the comparison table. */
    public static final List<String> METHODS = List.of(
            "lora", "ia3", "bottleneck", "bitfit", "prompt-tuning", "p-tuning", "prefix-tuning");

    /**
     * @param method a name of {@link #METHODS}
     * @return its recipe
     * @throws IllegalArgumentException naming the known methods when {@code method} is unknown
     */
    public static MethodRecipe of(String method) {
        return switch (method.toLowerCase(Locale.ROOT)) {
            case "lora" -> new MethodRecipe("lora", 2e-3);
            case "ia3" -> new MethodRecipe("ia3", 1e-2);
            case "bottleneck" -> new MethodRecipe("bottleneck", 2e-3);
            case "bitfit" -> new MethodRecipe("bitfit", 5e-3);
            case "prompt-tuning" -> new MethodRecipe("prompt-tuning", 3e-2);
            case "p-tuning" -> new MethodRecipe("p-tuning", 3e-3);
            case "prefix-tuning" -> new MethodRecipe("prefix-tuning", 1e-2);
            default -> throw new IllegalArgumentException("--method must be one of " + String.join(", ", METHODS)
                    + ", got \"" + method + "\"");
        };
    }

    /**
     * @param args command-line options that may override the method's size
     * @return the method's configuration for a {@code SEQ_CLS} model whose head is {@code classifier}
     */
    public PeftConfig config(String[] args) {
        List<String> head = List.of("classifier");
        return switch (name) {
            case "lora" -> LoraConfig.builder().setTargetModules("query", "value").optR(intOption(args, "--r", 8))
                    .optLoraAlpha(2.0 * intOption(args, "--r", 8)).optLoraDropout(0.1)
                    .optModulesToSave(head).optTaskType("SEQ_CLS").build();
            case "ia3" -> Ia3Config.builder().optModulesToSave(head).optTaskType("SEQ_CLS").build();
            case "bottleneck" -> BottleneckConfig.seqBn().optReductionFactor(intOption(args, "--reduction-factor", 16))
                    .optTaskType("SEQ_CLS").build();
            case "bitfit" -> BitFitConfig.builder().optTaskType("SEQ_CLS").build();
            case "prompt-tuning" -> PromptTuningConfig.builder().setNumVirtualTokens(virtualTokens(args))
                    .optPromptTuningInit(PromptTuningInit.TEXT)
                    .optPromptTuningInitText("Is this food review great or not?").optTaskType("SEQ_CLS").build();
            case "p-tuning" -> PromptEncoderConfig.builder().setNumVirtualTokens(virtualTokens(args))
                    .optEncoderHiddenSize(128).optTaskType("SEQ_CLS").build();
            case "prefix-tuning" -> PrefixTuningConfig.builder().setNumVirtualTokens(virtualTokens(args))
                    .optTaskType("SEQ_CLS").build();
            default -> throw new IllegalStateException(name);
        };
    }

    /**
     * @param args command-line options that may override the method's size
     * @return the settings in words, for the table
     */
    public String describe(String[] args) {
        return switch (name) {
            case "lora" -> "r=" + intOption(args, "--r", 8) + ", alpha=2r, query+value";
            case "ia3" -> "PEFT's BERT targets (key, value, output.dense)";
            case "bottleneck" -> "Pfeiffer (SeqBn), reduction " + intOption(args, "--reduction-factor", 16);
            case "bitfit" -> "all biases";
            case "prompt-tuning" -> virtualTokens(args) + " virtual tokens, TEXT init";
            case "p-tuning" -> virtualTokens(args) + " virtual tokens, MLP encoder 128";
            case "prefix-tuning" -> virtualTokens(args) + " virtual tokens per layer, no projection";
            default -> name;
        };
    }

    private static int virtualTokens(String[] args) {
        return intOption(args, "--num-virtual-tokens", 20);
    }

    private static int intOption(String[] args, String option, int fallback) {
        return Integer.parseInt(ClassifyReviews.option(args, option, Integer.toString(fallback)));
    }
}
