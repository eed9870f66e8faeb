package dev.peft4j.tuners.ia3;

import dev.peft4j.core.peft.AbstractMethodRecipe;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.train.TrainingDefaults;

import java.util.List;

/**
 * IA³'s defaults ({@code ia3}): PEFT's per-family targets (filled in when the config is wrapped
 * around a base, {@link Ia3Defaults}), learning rate 1e-2, {@link TrainingDefaults#EPOCHS} epochs.
 * Registered as a {@link MethodRecipe}.
 */
public final class Ia3Recipe extends AbstractMethodRecipe {

    /** The method's name. */
    public static final String NAME = "ia3";
    /**
     * Peak learning rate: 1e-2 (the paper's 3e-3 is for thousands of steps; one epoch of the
     * fine-foods demo needs the larger step).
     */
    public static final double LEARNING_RATE = 1e-2;
    /** Epochs. */
    public static final int EPOCHS = TrainingDefaults.EPOCHS;

    /** Creates the recipe (the service loader's constructor). */
    public Ia3Recipe() {
        super(NAME, "IA3", "IA³", LEARNING_RATE, EPOCHS);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a builder holding the defaults (targets: PEFT's of the base's family, filled in when wrapped)
     */
    public static Ia3Config.Builder builder(String taskType) {
        return Ia3Config.builder().optTaskType(taskType);
    }

    @Override
    protected Ia3Config config(String taskType, List<String> modulesToSave) {
        return builder(taskType).optModulesToSave(modulesToSave).build();
    }
}
