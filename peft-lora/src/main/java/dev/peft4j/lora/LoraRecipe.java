package dev.peft4j.lora;

import dev.peft4j.core.peft.AbstractMethodRecipe;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.train.TrainingDefaults;

import java.util.List;

/**
 * LoRA's defaults ({@code lora}): r=8, alpha 16, dropout 0.1 on the query and value projections
 * ({@code query,value} in BERT, {@code q_proj,v_proj} in the Llama family), learning rate and epochs
 * of {@link TrainingDefaults} (tuned on the fine-foods demo). Registered as a {@link MethodRecipe};
 * {@link #builder(String)} gives the typed builder to change a default:
 *
 * <pre>{@code
 * LoraConfig config = LoraRecipe.builder("SEQ_CLS").optR(16).build();
 * }</pre>
 */
public final class LoraRecipe extends AbstractMethodRecipe {

    /** The method's name. */
    public static final String NAME = "lora";
    /** LoRA rank {@code r}. */
    public static final int R = 8;
    /** LoRA alpha (the update is scaled by alpha/r). */
    public static final double ALPHA = 16;
    /** Dropout on the LoRA input in training. */
    public static final double DROPOUT = 0.1;
    /** Targets in a BERT encoder. */
    public static final List<String> TARGETS_BERT = List.of("query", "value");
    /** Targets in a Llama-family decoder. */
    public static final List<String> TARGETS_LLAMA = List.of("q_proj", "v_proj");
    /** Peak learning rate. */
    public static final double LEARNING_RATE = TrainingDefaults.LEARNING_RATE;
    /** Epochs. */
    public static final int EPOCHS = TrainingDefaults.EPOCHS;

    /** Creates the recipe (the service loader's constructor). */
    public LoraRecipe() {
        super(NAME, "LORA", "LoRA", LEARNING_RATE, EPOCHS);
    }

    /**
     * @param taskType {@code CAUSAL_LM} (Llama targets) or another {@code task_type} (BERT targets)
     * @return the default targets of that task's model family
     */
    public static List<String> targets(String taskType) {
        return "CAUSAL_LM".equals(taskType) ? TARGETS_LLAMA : TARGETS_BERT;
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a builder holding the defaults
     */
    public static LoraConfig.Builder builder(String taskType) {
        return LoraConfig.builder().setTargetModules(targets(taskType).toArray(new String[0])).optR(R)
                .optLoraAlpha(ALPHA).optLoraDropout(DROPOUT).optTaskType(taskType);
    }

    @Override
    protected LoraConfig config(String taskType, List<String> modulesToSave) {
        return builder(taskType).optModulesToSave(modulesToSave).build();
    }
}
