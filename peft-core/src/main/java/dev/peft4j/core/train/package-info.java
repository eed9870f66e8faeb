/**
 * Training engine for adapters and any other {@link dev.peft4j.core.nn.Module}: {@link
 * dev.peft4j.core.train.AdapterTrainer} runs a seeded, resumable loop (gradient accumulation,
 * clipping, learning-rate schedules, evaluation, keep-best, atomic checkpoints) over the module's
 * trainable parameters with {@link dev.peft4j.core.train.AdamW} or {@link
 * dev.peft4j.core.train.Sgd}.
 *
 * <p>{@link dev.peft4j.core.train.FineTuner} is the one-call API over it, as PEFT users know {@code
 * Trainer(model, args, train_dataset, eval_dataset).train()}: a wrapped model, {@link
 * dev.peft4j.core.train.TrainingArguments} (defaults in {@link
 * dev.peft4j.core.train.TrainingDefaults}, shared with the CLI) and in-memory records or files give
 * a {@link dev.peft4j.core.train.TrainingResult}; {@code evaluate(data)} gives an {@link
 * dev.peft4j.core.train.EvaluationResult}.
 *
 * <p>Randomness is a pure function of the run seed and the step: {@link
 * dev.peft4j.core.train.StepRandom} derives the data order of every epoch and the seed set before
 * every micro-batch (dropout masks: the calling thread's {@link dev.peft4j.core.nn.DropoutStream},
 * and the engine's generator), so a run resumed from a checkpoint replays exactly the losses of an
 * uninterrupted one, and runs on several threads at once do not disturb each other.
 */
package dev.peft4j.core.train;
