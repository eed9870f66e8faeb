/** Input validation tests of the public peft-lora and peft-quant entry points. */
package dev.peft4j.lora.validation;
