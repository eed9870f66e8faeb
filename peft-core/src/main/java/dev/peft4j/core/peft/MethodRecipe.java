package dev.peft4j.core.peft;

import java.util.List;

/**
 * A method's tuned defaults, owned by the module that implements the method: its name as PEFT's
 * docs and the {@code peft4j --method} option spell it, the configuration a user gets when naming
 * only the method, and its training budget (peak learning rate, epochs). The core knows no method:
 * recipes are found with {@link java.util.ServiceLoader} ({@code
 * META-INF/services/dev.peft4j.core.peft.MethodRecipe}) or registered with {@link
 * MethodRecipes#register}, and looked up by name:
 *
 * <pre>{@code
 * MethodRecipe recipe = MethodRecipes.forName("prompt-tuning");
 * PeftConfig config = recipe.defaultConfig("SEQ_CLS", List.of("classifier"));
 * TrainingArguments args = TrainingArguments.builder().optLearningRate(recipe.learningRate())
 *         .optEpochs(recipe.epochs()).build();
 * }</pre>
 *
 * <p>The methods train at very different learning rates (a few thousand prompt parameters need a far
 * larger step than LoRA's low-rank updates), which is why the budget travels with the method.
 */
public interface MethodRecipe {

    /** @return the method's name, lower case with dashes, e.g. {@code prompt-tuning} */
    String name();

    /** @return PEFT's {@code peft_type} of its adapters, e.g. {@code PROMPT_TUNING} */
    String peftType();

    /** @return the name in prose, e.g. {@code prompt tuning}; {@link #name()} by default */
    default String displayName() {
        return name();
    }

    /**
     * @return whether its adapters merge into the base weights: its {@link PeftMethod#supportsMerge()}
     * @throws IllegalArgumentException when no method of {@link #peftType()} is known
     */
    default boolean mergeable() {
        return PeftMethods.forType(peftType()).supportsMerge();
    }

    /**
     * The default configuration.
     *
     * @param taskType PEFT's {@code task_type} ({@code SEQ_CLS}: a BERT classifier; {@code CAUSAL_LM}: a
     *     Llama-family decoder), which chooses per-family defaults such as LoRA's targets
     * @param modulesToSave modules trained whole and saved with the adapter (a classifier head); null or
     *     empty for none
     * @return the configuration, of this method's {@link #peftType()}
     */
    PeftConfig defaultConfig(String taskType, List<String> modulesToSave);

    /** @return the default peak learning rate of AdamW (adapter and head alike) */
    double learningRate();

    /** @return the default number of passes over the training data */
    int epochs();
}
