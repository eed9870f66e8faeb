/**
 * Training data: rows from JSONL or CSV files ({@link dev.peft4j.core.data.RecordReader}) with
 * file-and-line errors ({@link dev.peft4j.core.data.DataException}) or counted skips ({@link
 * dev.peft4j.core.data.BadRows}); text classification examples with an inferred, saved label set
 * ({@link dev.peft4j.core.data.ClassificationDataset}, {@link dev.peft4j.core.data.LabelSet}); and
 * causal-LM sequences with prompt masking and chat templates ({@link
 * dev.peft4j.core.data.CausalLmDataset}, {@link dev.peft4j.core.data.ChatTemplate}). Examples are
 * tokenized once; batches are padded to their longest example. In-memory rows ({@link
 * dev.peft4j.core.data.LabeledText}, {@link dev.peft4j.core.data.PromptCompletion}, {@link
 * dev.peft4j.core.data.PlainText}, maps, JSON objects) go through the same code as a file's rows
 * ({@link dev.peft4j.core.data.DataRecords}).
 */
package dev.peft4j.core.data;
