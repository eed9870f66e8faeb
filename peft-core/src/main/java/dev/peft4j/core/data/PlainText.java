package dev.peft4j.core.data;

/**
 * One in-memory causal-LM example trained on every token (continued pretraining, as a {@code
 * {"text"}} JSONL row), read by {@link CausalLmDataset.Builder#setRecords}.
 *
 * @param text the text
 */
public record PlainText(String text) {}
