/**
 * LoRA adapters (with DoRA and rsLoRA) over full-precision or quantized linear layers, and the PEFT
 * file format: {@link dev.peft4j.lora.LoraMethod}, the LoRA {@link dev.peft4j.core.peft.PeftMethod}
 * (found through {@code META-INF/services}), {@link dev.peft4j.lora.LoraConfig}, and LoRA-only
 * helpers over a {@link dev.peft4j.core.peft.PeftModel} in {@link dev.peft4j.lora.LoraAdapters}.
 */
package dev.peft4j.lora;
