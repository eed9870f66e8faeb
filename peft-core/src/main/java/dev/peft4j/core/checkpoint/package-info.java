/**
 * Gradient checkpointing for the layer stacks of the model families (BERT's {@code encoder}, the
 * Llama family's {@code model}): a training pass keeps only each layer's input, and the backward
 * pass recomputes each layer from it, with the dropout masks of the first pass, and
 * back-propagates through it — Hugging Face's {@code gradient_checkpointing_enable()} at layer
 * granularity.
 *
 * <p>{@link dev.peft4j.core.checkpoint.GradientCheckpointing} switches it on for a model's tree
 * and runs the recomputations after a backward pass; {@link
 * dev.peft4j.core.checkpoint.LayerStack} is the per-stack state and algorithm; {@link
 * dev.peft4j.core.checkpoint.LayerSeeds} gives every layer of a training pass its own random
 * stream so that a recomputation draws the same masks; {@link
 * dev.peft4j.core.checkpoint.GradMode} switches the engine's gradient recording. A layer made of
 * residual blocks ({@link dev.peft4j.core.checkpoint.ResidualBlockLayer}) whose output projections
 * are {@link dev.peft4j.core.checkpoint.FrozenLinear} is recomputed without those projections
 * (their input gradient {@code dy·W} suffices).
 */
package dev.peft4j.core.checkpoint;
