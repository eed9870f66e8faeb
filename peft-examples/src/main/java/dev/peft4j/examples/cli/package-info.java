/**
 * The {@code peft4j} command-line tool: {@link dev.peft4j.examples.cli.Peft4jCli} and its
 * subcommands, each a small picocli command class:
 *
 * <ul>
 *   <li>{@code inspect} – tensors, dtypes and shapes of a checkpoint;
 *   <li>{@code embed} – sentence embeddings from a BERT encoder, optionally with {@code --adapter};
 *   <li>{@code logits}, {@code generate} – a causal LM's last-position logits and generated tokens,
 *       optionally with {@code --adapter};
 *   <li>{@code merge} – a LoRA, IA³ or BitFit adapter merged into its base and exported as a Hugging Face model
 *       directory;
 *   <li>{@code quantize}, {@code dequantize} – bitsandbytes 4-bit checkpoints (with transformers'
 *       {@code quantization_config}) and back;
 *   <li>{@code train}, {@code eval} – fine-tuning with any PEFT method ({@code --method}, {@link
 *       MethodOptions}; each method's defaults are its module's {@link dev.peft4j.core.peft.MethodRecipe})
 *       for text classification or causal language modelling from JSONL/CSV data, and evaluation of the adapter (accuracy and macro-F1, or
 *       loss and perplexity);
 *   <li>{@code demo} – the end-to-end fine-tuning demo on the shipped fine-food reviews.
 * </ul>
 *
 * <p>Shared pieces: {@link dev.peft4j.examples.cli.CliCommand} (errors as one {@code error:} line,
 * exit 1), {@code EncoderModel} and {@code ModelInput} (resolving {@code --model}), {@code
 * AdapterInput} (resolving {@code --adapter}), {@code CheckpointRewriter} (writing checkpoints);
 * merged exports are written by peft-core's {@code HfModelWriter}.
 */
package dev.peft4j.examples.cli;
