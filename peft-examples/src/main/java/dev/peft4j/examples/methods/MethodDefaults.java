package dev.peft4j.examples.methods;

import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.train.TrainingDefaults;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.tuners.bitfit.BitFitConfig;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.ia3.Ia3Config;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PromptEncoderConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningInit;

import java.util.List;
import java.util.Objects;

/**
 * Each method's defaults, in one place: the configuration a method gets when the user says only
 * {@code --method NAME}, and its training budget (learning rate, epochs). {@code peft4j train} and
 * {@code demo} read them; a library user builds the same configurations:
 *
 * <pre>{@code
 * PeftConfig config = MethodDefaults.config(TuningMethod.PROMPT_TUNING, "SEQ_CLS", List.of("classifier"));
 * MethodDefaults.Training budget = MethodDefaults.training(TuningMethod.PROMPT_TUNING);   // lr 3e-2, 3 epochs
 * PrefixTuningConfig prefix = MethodDefaults.prefixTuning("CAUSAL_LM").setNumVirtualTokens(10).build();
 * }</pre>
 *
 * <p>The methods train at very different learning rates: a few thousand prompt parameters need a
 * far larger step than LoRA's low-rank updates. LoRA's values are {@link TrainingDefaults}' (tuned
 * on the fine-foods demo); the others are starting points from the methods' papers and PEFT's /
 * AdapterHub's examples. Re-tuned values go here and nowhere else.
 */
public final class MethodDefaults {

    /** LoRA rank {@code r}. */
    public static final int LORA_R = 8;
    /** LoRA alpha (the update is scaled by alpha/r). */
    public static final double LORA_ALPHA = 16;
    /** Dropout on the LoRA input in training. */
    public static final double LORA_DROPOUT = 0.1;
    /** LoRA targets of a BERT encoder. */
    public static final List<String> LORA_TARGETS_BERT = List.of("query", "value");
    /** LoRA targets of a Llama-family decoder. */
    public static final List<String> LORA_TARGETS_LLAMA = List.of("q_proj", "v_proj");
    /** LoRA's peak learning rate. */
    public static final double LORA_LEARNING_RATE = TrainingDefaults.LEARNING_RATE;
    /** LoRA's epochs. */
    public static final int LORA_EPOCHS = TrainingDefaults.EPOCHS;

    /**
     * IA³'s peak learning rate: 1e-2 (the paper's 3e-3 is for thousands of steps; one epoch of the
     * fine-foods demo needs the larger step). Targets: PEFT's per-family defaults.
     */
    public static final double IA3_LEARNING_RATE = 1e-2;
    /** IA³'s epochs. */
    public static final int IA3_EPOCHS = TrainingDefaults.EPOCHS;

    /** Prompt tuning's virtual tokens. */
    public static final int PROMPT_TUNING_VIRTUAL_TOKENS = 20;
    /** Prompt tuning's initialization. */
    public static final PromptTuningInit PROMPT_TUNING_INIT = PromptTuningInit.RANDOM;
    /** Prompt tuning's peak learning rate (PEFT's examples use 3e-2; Lester et al. far more). */
    public static final double PROMPT_TUNING_LEARNING_RATE = 3e-2;
    /** Prompt tuning's epochs. */
    public static final int PROMPT_TUNING_EPOCHS = TrainingDefaults.EPOCHS;

    /** P-tuning's virtual tokens. */
    public static final int P_TUNING_VIRTUAL_TOKENS = 20;
    /** P-tuning's MLP hidden size (PEFT's examples: 128). */
    public static final int P_TUNING_ENCODER_HIDDEN_SIZE = 128;
    /**
     * P-tuning's peak learning rate: 1e-2 (3e-3 stayed at the majority class on the fine-foods tuning
     * split, 1,000 reviews for one epoch: docs/methods.md).
     */
    public static final double P_TUNING_LEARNING_RATE = 1e-2;
    /** P-tuning's epochs. */
    public static final int P_TUNING_EPOCHS = TrainingDefaults.EPOCHS;

    /** Prefix tuning's virtual tokens per layer. */
    public static final int PREFIX_TUNING_VIRTUAL_TOKENS = 20;
    /** Whether prefix tuning reparameterizes through PEFT's projection MLP. */
    public static final boolean PREFIX_TUNING_PROJECTION = false;
    /** Prefix tuning's peak learning rate (PEFT's examples: 1e-2). */
    public static final double PREFIX_TUNING_LEARNING_RATE = 1e-2;
    /** Prefix tuning's epochs. */
    public static final int PREFIX_TUNING_EPOCHS = TrainingDefaults.EPOCHS;

    /** The bottleneck preset (AdapterHub's {@code seq_bn}, Pfeiffer). */
    public static final BottleneckPreset BOTTLENECK_PRESET = BottleneckPreset.SEQ_BN;
    /** Bottleneck adapters' peak learning rate (2e-3; AdapterHub's examples use 1e-4 to 1e-3 over more steps). */
    public static final double BOTTLENECK_LEARNING_RATE = 2e-3;
    /** Bottleneck adapters' epochs. */
    public static final int BOTTLENECK_EPOCHS = TrainingDefaults.EPOCHS;

    /** BitFit's bias selection: {@code all}, or module names such as {@link BitFitConfig#QUERY_AND_INTERMEDIATE}. */
    public static final String BITFIT_BIAS_TERMS = BitFitConfig.ALL;
    /** BitFit's peak learning rate (5e-3: a few thousand biases need a larger step than LoRA). */
    public static final double BITFIT_LEARNING_RATE = 5e-3;
    /** BitFit's epochs. */
    public static final int BITFIT_EPOCHS = TrainingDefaults.EPOCHS;

    /**
     * A method's training budget.
     *
     * @param learningRate peak learning rate of AdamW (adapter and head alike)
     * @param epochs passes over the training data
     */
    public record Training(double learningRate, int epochs) {}

    private MethodDefaults() {}

    /**
     * @param method a method
     * @return its default learning rate and epochs
     */
    public static Training training(TuningMethod method) {
        return switch (Objects.requireNonNull(method, "method")) {
            case LORA -> new Training(LORA_LEARNING_RATE, LORA_EPOCHS);
            case IA3 -> new Training(IA3_LEARNING_RATE, IA3_EPOCHS);
            case PROMPT_TUNING -> new Training(PROMPT_TUNING_LEARNING_RATE, PROMPT_TUNING_EPOCHS);
            case P_TUNING -> new Training(P_TUNING_LEARNING_RATE, P_TUNING_EPOCHS);
            case PREFIX_TUNING -> new Training(PREFIX_TUNING_LEARNING_RATE, PREFIX_TUNING_EPOCHS);
            case BOTTLENECK -> new Training(BOTTLENECK_LEARNING_RATE, BOTTLENECK_EPOCHS);
            case BITFIT -> new Training(BITFIT_LEARNING_RATE, BITFIT_EPOCHS);
        };
    }

    /**
     * A method's default configuration.
     *
     * @param method a method
     * @param taskType PEFT's {@code task_type} ({@code SEQ_CLS}: BERT; {@code CAUSAL_LM}: Llama family)
     * @param modulesToSave modules trained whole and saved with the adapter (a classifier head), or empty
     * @return the configuration
     */
    public static PeftConfig config(TuningMethod method, String taskType, List<String> modulesToSave) {
        List<String> save = modulesToSave == null || modulesToSave.isEmpty() ? null : modulesToSave;
        return switch (Objects.requireNonNull(method, "method")) {
            case LORA -> lora(taskType).optModulesToSave(save).build();
            case IA3 -> ia3(taskType).optModulesToSave(save).build();
            case PROMPT_TUNING -> promptTuning(taskType).optModulesToSave(save).build();
            case P_TUNING -> pTuning(taskType).optModulesToSave(save).build();
            case PREFIX_TUNING -> prefixTuning(taskType).optModulesToSave(save).build();
            case BOTTLENECK -> bottleneck(BOTTLENECK_PRESET, taskType).optModulesToSave(save).build();
            case BITFIT -> bitFit(taskType).optModulesToSave(save).build();
        };
    }

    /**
     * @param taskType {@code SEQ_CLS} (BERT targets) or {@code CAUSAL_LM} (Llama targets)
     * @return the default LoRA targets of that task's model family
     */
    public static List<String> loraTargets(String taskType) {
        return "CAUSAL_LM".equals(taskType) ? LORA_TARGETS_LLAMA : LORA_TARGETS_BERT;
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a LoRA builder with the defaults
     */
    public static LoraConfig.Builder lora(String taskType) {
        return LoraConfig.builder().setTargetModules(loraTargets(taskType).toArray(new String[0])).optR(LORA_R)
                .optLoraAlpha(LORA_ALPHA).optLoraDropout(LORA_DROPOUT).optTaskType(taskType);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return an IA³ builder (targets: PEFT's defaults of the base's family, filled in when wrapped)
     */
    public static Ia3Config.Builder ia3(String taskType) {
        return Ia3Config.builder().optTaskType(taskType);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a prompt-tuning builder with the defaults
     */
    public static PromptTuningConfig.Builder promptTuning(String taskType) {
        return PromptTuningConfig.builder().setNumVirtualTokens(PROMPT_TUNING_VIRTUAL_TOKENS)
                .optPromptTuningInit(PROMPT_TUNING_INIT).optTaskType(taskType);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a P-tuning builder with the defaults
     */
    public static PromptEncoderConfig.Builder pTuning(String taskType) {
        return PromptEncoderConfig.builder().setNumVirtualTokens(P_TUNING_VIRTUAL_TOKENS)
                .optEncoderHiddenSize(P_TUNING_ENCODER_HIDDEN_SIZE).optTaskType(taskType);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a prefix-tuning builder with the defaults
     */
    public static PrefixTuningConfig.Builder prefixTuning(String taskType) {
        return PrefixTuningConfig.builder().setNumVirtualTokens(PREFIX_TUNING_VIRTUAL_TOKENS)
                .optPrefixProjection(PREFIX_TUNING_PROJECTION).optTaskType(taskType);
    }

    /**
     * @param preset AdapterHub's preset (its reduction factor and non-linearity are the defaults)
     * @param taskType PEFT's {@code task_type}
     * @return a bottleneck builder
     */
    public static BottleneckConfig.Builder bottleneck(BottleneckPreset preset, String taskType) {
        return Objects.requireNonNull(preset, "preset").builder().optTaskType(taskType);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a BitFit builder with the default bias selection
     */
    public static BitFitConfig.Builder bitFit(String taskType) {
        return BitFitConfig.builder().setTargetModules(biasTerms(BITFIT_BIAS_TERMS)).optTaskType(taskType);
    }

    /**
     * @param spec {@code all}, {@code query-intermediate} (the paper's subset: {@link
     *     BitFitConfig#QUERY_AND_INTERMEDIATE}) or comma-separated module names
     * @return BitFit's {@code target_modules}: null for every bias, else the module names
     */
    public static List<String> biasTerms(String spec) {
        String s = Objects.requireNonNull(spec, "spec").trim();
        if (s.equals(BitFitConfig.ALL)) {
            return null;
        }
        if (s.equals("query-intermediate")) {
            return BitFitConfig.QUERY_AND_INTERMEDIATE;
        }
        List<String> names = List.of(s.split("\\s*,\\s*"));
        if (names.isEmpty() || names.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("bias terms must be all, query-intermediate or module names, got '"
                    + spec + "'");
        }
        return names;
    }
}
