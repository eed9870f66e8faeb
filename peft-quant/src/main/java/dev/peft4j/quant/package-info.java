/** 4-bit (NF4/FP4) blockwise quantization and 4-bit linear layers. Knows nothing of LoRA. */
package dev.peft4j.quant;
