/**
 * Model families loaded from Hugging Face checkpoints (BERT; Llama, Qwen2 and Mistral) and their
 * shared pieces: {@link dev.peft4j.core.model.HfConfig} for {@code config.json}, and the built-in
 * models ({@link dev.peft4j.core.model.Builtins}), addressed as {@code builtin:<name>}, each with
 * its weights, Hugging Face {@code config.json} and {@code tokenizer.json}.
 *
 * <p>The typed models ({@code BertModel}, {@code BertForSequenceClassification}, {@code
 * LlamaForCausalLM}) load themselves with {@code fromPretrained(pathOrBuiltinId[, }{@link
 * dev.peft4j.core.model.PretrainedOptions}{@code ])} (files resolved by {@link
 * dev.peft4j.core.model.PretrainedFiles}), own their native memory ({@link
 * dev.peft4j.core.model.PretrainedAssets}; close the model to free it) and save themselves as
 * Hugging Face directories with {@code savePretrained} ({@link
 * dev.peft4j.core.model.HfModelWriter}). Checkpoints saved 4-bit load as saved through the {@link
 * dev.peft4j.core.model.SavedWeightLoaders} service that peft-quant provides.
 */
package dev.peft4j.core.model;
