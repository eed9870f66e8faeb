/**
 * 4-bit layers and quantize-on-load for module trees: {@link dev.peft4j.quant.nn.Linear4bit} (a
 * {@link dev.peft4j.core.nn.LinearLike} with a frozen NF4/FP4 weight), {@link
 * dev.peft4j.quant.nn.QuantizationConfig} (transformers' {@code BitsAndBytesConfig} for 4 bits),
 * {@link dev.peft4j.quant.nn.Quantizer} (replace linear layers by 4-bit shells), {@link
 * dev.peft4j.quant.nn.QuantizedLoader} (quantize while streaming a checkpoint, or read one already
 * in the bitsandbytes layout) and {@link dev.peft4j.quant.nn.QuantizedSaver} (write that layout).
 */
package dev.peft4j.quant.nn;
