/**
 * Training data: rows from JSONL or CSV files ({@link dev.peft4j.core.data.RecordReader}) with
 * file-and-line errors ({@link dev.peft4j.core.data.DataException}) or counted skips ({@link
 * dev.peft4j.core.data.BadRows}); text classification examples with an inferred, saved label set
 * ({@link dev.peft4j.core.data.ClassificationDataset}, {@link dev.peft4j.core.data.LabelSet}); and
 * causal-LM sequences with prompt masking and chat templates ({@link
 * dev.peft4j.core.data.CausalLmDataset}, {@link dev.peft4j.core.data.ChatTemplate}). Examples are
 * tokenized once; batches are padded to their longest example.
 */
package dev.peft4j.core.data;
