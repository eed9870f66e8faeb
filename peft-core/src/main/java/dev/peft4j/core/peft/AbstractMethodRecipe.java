package dev.peft4j.core.peft;

import java.util.List;
import java.util.Objects;

/**
 * A {@link MethodRecipe} from its fixed facts (name, {@code peft_type}, name in prose, learning rate,
 * epochs): a method's recipe adds only {@link #config}, its default configuration.
 */
public abstract class AbstractMethodRecipe implements MethodRecipe {

    private final String name;
    private final String peftType;
    private final String displayName;
    private final double learningRate;
    private final int epochs;

    /**
     * @param name the method's name, lower case with dashes ({@code prompt-tuning})
     * @param peftType PEFT's {@code peft_type} ({@code PROMPT_TUNING})
     * @param displayName the name in prose ({@code prompt tuning})
     * @param learningRate the default peak learning rate, positive
     * @param epochs the default number of epochs, positive
     */
    protected AbstractMethodRecipe(String name, String peftType, String displayName, double learningRate,
            int epochs) {
        this.name = Objects.requireNonNull(name, "name");
        this.peftType = Objects.requireNonNull(peftType, "peftType");
        this.displayName = Objects.requireNonNull(displayName, "displayName");
        if (!(learningRate > 0) || epochs <= 0) {
            throw new IllegalArgumentException(name + ": learning rate and epochs must be positive, got "
                    + learningRate + " and " + epochs);
        }
        this.learningRate = learningRate;
        this.epochs = epochs;
    }

    /**
     * The default configuration.
     *
     * @param taskType PEFT's {@code task_type}
     * @param modulesToSave modules trained whole and saved with the adapter, or null for none (never
     *     empty)
     * @return the configuration
     */
    protected abstract PeftConfig config(String taskType, List<String> modulesToSave);

    @Override
    public final PeftConfig defaultConfig(String taskType, List<String> modulesToSave) {
        return config(taskType, modulesToSave == null || modulesToSave.isEmpty() ? null : List.copyOf(modulesToSave));
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String peftType() {
        return peftType;
    }

    @Override
    public final String displayName() {
        return displayName;
    }

    @Override
    public final double learningRate() {
        return learningRate;
    }

    @Override
    public final int epochs() {
        return epochs;
    }
}
