/**
 * Model families loaded from Hugging Face checkpoints (BERT; Llama, Qwen2 and Mistral) and their
 * shared pieces: {@link dev.peft4j.core.model.HfConfig} for {@code config.json}, and the built-in
 * models ({@link dev.peft4j.core.model.Builtins}), addressed as {@code builtin:<name>}, each with
 * its weights, Hugging Face {@code config.json} and {@code tokenizer.json}.
 */
package dev.peft4j.core.model;
