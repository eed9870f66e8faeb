/**
 * The method-agnostic PEFT core, as Hugging Face PEFT's {@code PeftModel}: a frozen base wrapped with
 * named adapters ({@link dev.peft4j.core.peft.PeftModel}), {@code modules_to_save}, trainable-parameter
 * accounting, and PEFT's on-disk layout dispatching on {@code peft_type}. A method (LoRA, IA³,
 * prompt tuning, …) plugs in by implementing {@link dev.peft4j.core.peft.PeftMethod} with a {@link
 * dev.peft4j.core.peft.PeftConfig}, found through {@link java.util.ServiceLoader} or registered with
 * {@link dev.peft4j.core.peft.PeftMethods#register}; its module gives its tuned defaults (name,
 * default configuration, learning rate, epochs) as a {@link dev.peft4j.core.peft.MethodRecipe}, found
 * by name through {@link dev.peft4j.core.peft.MethodRecipes}.
 */
package dev.peft4j.core.peft;
