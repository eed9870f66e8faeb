/**
 * Model families loaded from Hugging Face checkpoints (BERT; Llama, Qwen2 and Mistral) and their
 * shared pieces: {@link dev.peft4j.core.model.HfConfig} for {@code config.json}.
 */
package dev.peft4j.core.model;
