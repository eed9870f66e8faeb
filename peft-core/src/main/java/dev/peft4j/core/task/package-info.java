/**
 * Task glue between data, models and the trainer: {@link dev.peft4j.core.task.ClassificationTask}
 * (cross-entropy; accuracy and macro-F1) and {@link dev.peft4j.core.task.CausalLmTask} (shifted
 * next-token cross-entropy on trained tokens; mean loss and perplexity), with the losses in {@link
 * dev.peft4j.core.task.Losses} computed in float32.
 */
package dev.peft4j.core.task;
