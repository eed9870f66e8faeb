/**
 * Runnable examples of the library, one short file each with a {@code main} ({@code java -cp
 * peft-examples/target/peft4j.jar dev.peft4j.examples.<Name>}): {@link
 * dev.peft4j.examples.ClassifyReviews} (LoRA classification on the built-in MiniLM, train, save,
 * reload, merge, export), {@link dev.peft4j.examples.QloraCausalLm} (NF4 on load, LoRA, generate,
 * dense merge), {@link dev.peft4j.examples.PythonAdapter} (a Python PEFT adapter, merged) and
 * {@link dev.peft4j.examples.MultiAdapter} (several adapters on one base), {@link
 * dev.peft4j.examples.MixedBatch} (one batch whose rows name their adapters). The {@code peft4j}
 * command-line tool is in {@code dev.peft4j.examples.cli}.
 */
package dev.peft4j.examples;
