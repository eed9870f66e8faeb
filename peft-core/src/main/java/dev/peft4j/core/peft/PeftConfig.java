package dev.peft4j.core.peft;

import java.util.List;

/**
 * The fields every PEFT method's configuration shares ({@code PeftConfig} in PEFT); a method's own
 * configuration (LoRA's {@code LoraConfig}, …) implements it and is immutable. Its JSON is read and
 * written by its {@link PeftMethod}.
 */
public interface PeftConfig {

    /** @return PEFT's method name, e.g. {@code LORA}, {@code IA3}, {@code PROMPT_TUNING} */
    String peftType();

    /** @return PEFT's {@code task_type} ({@code SEQ_CLS}, {@code CAUSAL_LM}, …), or null */
    String taskType();

    /** @return names of modules trained and saved whole ({@code modules_to_save}), or null */
    List<String> modulesToSave();

    /** @return whether the adapter is frozen ({@code inference_mode}) */
    boolean inferenceMode();

    /** @return {@code base_model_name_or_path}, or null */
    String baseModelNameOrPath();

    /**
     * @param inferenceMode the new value
     * @return a copy with {@code inference_mode} changed
     */
    PeftConfig withInferenceMode(boolean inferenceMode);

    /**
     * @param modules the new value, or null
     * @return a copy with {@code modules_to_save} changed
     */
    PeftConfig withModulesToSave(List<String> modules);
}
