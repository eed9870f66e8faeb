package dev.peft4j.tuners.prompt;

import dev.peft4j.core.peft.AbstractMethodRecipe;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.train.TrainingDefaults;

import java.util.List;

/**
 * P-tuning's defaults ({@code p-tuning}): 20 virtual tokens through PEFT's MLP encoder of hidden size
 * 128 (PEFT's examples), learning rate 1e-2, {@link TrainingDefaults#EPOCHS} epochs. Registered as a
 * {@link MethodRecipe}.
 */
public final class PTuningRecipe extends AbstractMethodRecipe {

    /** The method's name. */
    public static final String NAME = "p-tuning";
    /** Virtual tokens. */
    public static final int VIRTUAL_TOKENS = 20;
    /** The MLP encoder's hidden size. */
    public static final int ENCODER_HIDDEN_SIZE = 128;
    /**
     * Peak learning rate: 1e-2 (3e-3 stayed at the majority class on the fine-foods tuning split,
     * 1,000 reviews for one epoch: docs/methods.md).
     */
    public static final double LEARNING_RATE = 1e-2;
    /** Epochs. */
    public static final int EPOCHS = TrainingDefaults.EPOCHS;

    /** Creates the recipe (the service loader's constructor). */
    public PTuningRecipe() {
        super(NAME, "P_TUNING", "P-tuning", LEARNING_RATE, EPOCHS);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a builder holding the defaults
     */
    public static PromptEncoderConfig.Builder builder(String taskType) {
        return PromptEncoderConfig.builder().setNumVirtualTokens(VIRTUAL_TOKENS)
                .optEncoderHiddenSize(ENCODER_HIDDEN_SIZE).optTaskType(taskType);
    }

    @Override
    protected PromptEncoderConfig config(String taskType, List<String> modulesToSave) {
        return builder(taskType).optModulesToSave(modulesToSave).build();
    }
}
