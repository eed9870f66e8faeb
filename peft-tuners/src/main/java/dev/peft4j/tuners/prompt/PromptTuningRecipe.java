package dev.peft4j.tuners.prompt;

import dev.peft4j.core.peft.AbstractMethodRecipe;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.train.TrainingDefaults;

import java.util.List;

/**
 * Prompt tuning's defaults ({@code prompt-tuning}): 20 randomly initialized virtual tokens, learning
 * rate 3e-2 (PEFT's examples; Lester et al. use far more), {@link TrainingDefaults#EPOCHS} epochs.
 * Registered as a {@link MethodRecipe}.
 */
public final class PromptTuningRecipe extends AbstractMethodRecipe {

    /** The method's name. */
    public static final String NAME = "prompt-tuning";
    /** Virtual tokens. */
    public static final int VIRTUAL_TOKENS = 20;
    /** Initialization of the virtual tokens. */
    public static final PromptTuningInit INIT = PromptTuningInit.RANDOM;
    /** Peak learning rate. */
    public static final double LEARNING_RATE = 3e-2;
    /** Epochs. */
    public static final int EPOCHS = TrainingDefaults.EPOCHS;

    /** Creates the recipe (the service loader's constructor). */
    public PromptTuningRecipe() {
        super(NAME, "PROMPT_TUNING", "prompt tuning", LEARNING_RATE, EPOCHS);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a builder holding the defaults
     */
    public static PromptTuningConfig.Builder builder(String taskType) {
        return PromptTuningConfig.builder().setNumVirtualTokens(VIRTUAL_TOKENS).optPromptTuningInit(INIT)
                .optTaskType(taskType);
    }

    @Override
    protected PromptTuningConfig config(String taskType, List<String> modulesToSave) {
        return builder(taskType).optModulesToSave(modulesToSave).build();
    }
}
