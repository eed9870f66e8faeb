/** Native-memory soak tests of LoRA training (the long one runs only with {@code -Plong}). */
package dev.peft4j.lora.soak;
