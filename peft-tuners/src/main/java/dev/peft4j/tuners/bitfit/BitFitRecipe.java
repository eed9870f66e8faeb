package dev.peft4j.tuners.bitfit;

import dev.peft4j.core.peft.AbstractMethodRecipe;
import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.train.TrainingDefaults;

import java.util.List;
import java.util.Objects;

/**
 * BitFit's defaults ({@code bitfit}): every bias term trains, learning rate 5e-3 (a few thousand
 * biases need a larger step than LoRA), {@link TrainingDefaults#EPOCHS} epochs. Registered as a
 * {@link MethodRecipe}; {@link #biasTerms(String)} reads a bias selection as {@code peft4j
 * --bias-terms} takes it.
 */
public final class BitFitRecipe extends AbstractMethodRecipe {

    /** The method's name. */
    public static final String NAME = "bitfit";
    /** The paper's subset by name: {@link BitFitConfig#QUERY_AND_INTERMEDIATE}. */
    public static final String QUERY_INTERMEDIATE = "query-intermediate";
    /** The bias selection: {@link BitFitConfig#ALL}. */
    public static final String BIAS_TERMS = BitFitConfig.ALL;
    /** Peak learning rate. */
    public static final double LEARNING_RATE = 5e-3;
    /** Epochs. */
    public static final int EPOCHS = TrainingDefaults.EPOCHS;

    /** Creates the recipe (the service loader's constructor). */
    public BitFitRecipe() {
        super(NAME, "BITFIT", "BitFit", LEARNING_RATE, EPOCHS);
    }

    /**
     * @param taskType PEFT's {@code task_type}
     * @return a builder holding the default bias selection
     */
    public static BitFitConfig.Builder builder(String taskType) {
        return BitFitConfig.builder().setTargetModules(biasTerms(BIAS_TERMS)).optTaskType(taskType);
    }

    /**
     * @param spec {@code all}, {@code query-intermediate} (the paper's subset) or comma-separated module
     *     names
     * @return BitFit's {@code target_modules}: null for every bias, else the module names
     * @throws IllegalArgumentException for an empty name
     */
    public static List<String> biasTerms(String spec) {
        String s = Objects.requireNonNull(spec, "spec").trim();
        if (s.equals(BitFitConfig.ALL)) {
            return null;
        }
        if (s.equals(QUERY_INTERMEDIATE)) {
            return BitFitConfig.QUERY_AND_INTERMEDIATE;
        }
        List<String> names = List.of(s.split("\\s*,\\s*"));
        if (names.isEmpty() || names.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("bias terms must be all, query-intermediate or module names, got '"
                    + spec + "'");
        }
        return names;
    }

    @Override
    protected BitFitConfig config(String taskType, List<String> modulesToSave) {
        return builder(taskType).optModulesToSave(modulesToSave).build();
    }
}
