/** Gradient checkpointing with the methods of peft-tuners. */
package dev.peft4j.tuners.checkpoint;
