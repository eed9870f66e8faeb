/** Benchmarks of LoRA training run by hand (not tests): gradient checkpointing on a TinyLlama-shaped model. */
package dev.peft4j.lora.bench;
