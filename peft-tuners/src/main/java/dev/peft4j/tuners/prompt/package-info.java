/**
 * PEFT's prompt-learning methods on the core's {@link dev.peft4j.core.peft.PeftModel}: prompt
 * tuning ({@link dev.peft4j.tuners.prompt.PromptTuningConfig}, {@code PROMPT_TUNING}), P-tuning
 * with the MLP encoder ({@link dev.peft4j.tuners.prompt.PromptEncoderConfig}, {@code P_TUNING})
 * and prefix tuning ({@link dev.peft4j.tuners.prompt.PrefixTuningConfig}, {@code PREFIX_TUNING}).
 * Each adapter is a prompt encoder in the base model's tree ({@code prompt_encoder.<adapter>}),
 * run through the model family's prefix hooks; files are PEFT's ({@code adapter_config.json},
 * {@code adapter_model.safetensors} with the single key {@code prompt_embeddings}).
 */
package dev.peft4j.tuners.prompt;
