/**
 * 4-bit (NF4/FP4) blockwise quantization, bit-identical to bitsandbytes' pure-PyTorch path, and
 * its state-dict form. Knows nothing of LoRA.
 *
 * <ul>
 *   <li>{@link dev.peft4j.quant.BlockwiseQuantizer} quantizes float32 values to a {@link
 *       dev.peft4j.quant.QuantizedTensor} (packed codes plus {@link dev.peft4j.quant.QuantState}),
 *       optionally double-quantizing the block scales ({@link dev.peft4j.quant.NestedAbsmax}).
 *   <li>{@link dev.peft4j.quant.BlockwiseDequantizer} is the Java reference dequantizer; {@link
 *       dev.peft4j.quant.NDArrayDequantizer} does the same with NDArray operations on any device.
 *   <li>{@link dev.peft4j.quant.QuantStateDict} reads and writes transformers' keys ({@code
 *       X.weight}, {@code X.weight.absmax}, {@code X.weight.quant_state.bitsandbytes__nf4}, ...).
 * </ul>
 */
package dev.peft4j.quant;
