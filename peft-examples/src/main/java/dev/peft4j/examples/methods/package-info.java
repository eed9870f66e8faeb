/**
 * The PEFT methods as a user chooses them: {@link dev.peft4j.examples.methods.TuningMethod} (the
 * seven methods with their command-line names) and {@link
 * dev.peft4j.examples.methods.MethodDefaults} (each method's default configuration and training
 * budget, in one place; the {@code peft4j train --method} / {@code demo --method} command line reads
 * them, and a library user can too).
 */
package dev.peft4j.examples.methods;
