package dev.peft4j.tuners.prompt;

import dev.peft4j.core.peft.AbstractMethodRecipe;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.train.TrainingDefaults;

import java.util.List;

/**
 * Prefix tuning's defaults ({@code prefix-tuning}): 20 virtual tokens per layer without the
 * projection MLP, learning rate 1e-2 (PEFT's examples), {@link TrainingDefaults#EPOCHS} epochs.
 * Registered as a {@link MethodRecipe}.
 */
public final class PrefixTuningRecipe extends AbstractMethodRecipe {

    /** The method's name. */
    public static final String NAME = "prefix-tuning";
    /** Virtual tokens per layer. */
    public static final int VIRTUAL_TOKENS = 20;
    /** Whether the prefix is reparameterized through PEFT's projection MLP. */
    public static final boolean PROJECTION = false;
    /** Peak learning rate. */
    public static final double LEARNING_RATE = 1e-2;
    /** Epochs. */
    public static final int EPOCHS = TrainingDefaults.EPOCHS;

    /** Creates the recipe (the service loader's constructor). */
    public PrefixTuningRecipe() {
        super(NAME, "PREFIX_TUNING", "prefix tuning", LEARNING_RATE, EPOCHS);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a builder holding the defaults
     */
    public static PrefixTuningConfig.Builder builder(String taskType) {
        return PrefixTuningConfig.builder().setNumVirtualTokens(VIRTUAL_TOKENS).optPrefixProjection(PROJECTION)
                .optTaskType(taskType);
    }

    @Override
    protected PrefixTuningConfig config(String taskType, List<String> modulesToSave) {
        return builder(taskType).optModulesToSave(modulesToSave).build();
    }
}
