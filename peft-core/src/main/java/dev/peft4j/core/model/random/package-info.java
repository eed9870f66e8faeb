/**
 * Random-weight checkpoints of real model shapes, for measuring what a fine-tuning run of a real
 * model costs where no weights can be downloaded: {@link dev.peft4j.core.model.random.ModelShape}
 * (the named shapes {@code llama-2-7b}, {@code tinyllama-1.1b}, {@code qwen2.5-0.5b} with their
 * Hub {@code config.json}, or a scaled-down custom one) and {@link
 * dev.peft4j.core.model.random.RandomCheckpoint}, which streams a BF16 Hugging Face directory
 * (sharded, with {@code model.safetensors.index.json}) of Hugging Face's initialization to disk
 * one chunk at a time.
 */
package dev.peft4j.core.model.random;
