package dev.peft4j.tuners.bottleneck;

import dev.peft4j.core.peft.AbstractMethodRecipe;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.train.TrainingDefaults;

import java.util.List;
import java.util.Objects;

/**
 * Bottleneck adapters' defaults ({@code bottleneck}): AdapterHub's {@code seq_bn} preset (Pfeiffer:
 * reduction factor 16, ReLU), learning rate 2e-3 (AdapterHub's examples use 1e-4 to 1e-3 over more
 * steps), {@link TrainingDefaults#EPOCHS} epochs. Registered as a {@link MethodRecipe}.
 */
public final class BottleneckRecipe extends AbstractMethodRecipe {

    /** The method's name. */
    public static final String NAME = "bottleneck";
    /** The preset. */
    public static final BottleneckPreset PRESET = BottleneckPreset.SEQ_BN;
    /** Peak learning rate. */
    public static final double LEARNING_RATE = 2e-3;
    /** Epochs. */
    public static final int EPOCHS = TrainingDefaults.EPOCHS;

    /** Creates the recipe (the service loader's constructor). */
    public BottleneckRecipe() {
        super(NAME, "BOTTLENECK", "bottleneck adapters", LEARNING_RATE, EPOCHS);
    }

    /**
     * @param preset AdapterHub's preset (its reduction factor and non-linearity are the defaults)
     * @param taskType PEFT's {@code task_type}
     * @return a builder holding the preset
     */
    public static BottleneckConfig.Builder builder(BottleneckPreset preset, String taskType) {
        return Objects.requireNonNull(preset, "preset").builder().optTaskType(taskType);
    }

    @Override
    protected BottleneckConfig config(String taskType, List<String> modulesToSave) {
        return builder(PRESET, taskType).optModulesToSave(modulesToSave).build();
    }
}
