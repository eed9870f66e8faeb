/** LoRA adapters (with DoRA and rsLoRA) over full-precision or 4-bit linear layers, and the PEFT file format. */
package dev.peft4j.lora;
