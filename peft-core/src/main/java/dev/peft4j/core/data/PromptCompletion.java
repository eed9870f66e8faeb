package dev.peft4j.core.data;

/**
 * One in-memory causal-LM example trained on its completion only (as a {@code {"prompt",
 * "completion"}} JSONL row), read by {@link CausalLmDataset.Builder#setRecords}.
 *
 * @param prompt the prompt (no loss)
 * @param completion the completion (loss, and on the end-of-sequence token)
 */
public record PromptCompletion(String prompt, String completion) {}
