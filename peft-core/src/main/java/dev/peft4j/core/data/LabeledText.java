package dev.peft4j.core.data;

/**
 * One in-memory classification example, read by {@link ClassificationDataset.Builder#setRecords}
 * with the default field names ({@code text}, {@code label}).
 *
 * <pre>{@code
 * List<LabeledText> train = List.of(new LabeledText("great coffee", "great"),
 *         new LabeledText("stale beans", "other"));
 * }</pre>
 *
 * @param text the text
 * @param label its label
 */
public record LabeledText(String text, String label) {}
