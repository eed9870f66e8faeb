/**
 * Reading the weights of an ONNX model as a {@link dev.peft4j.core.io.TensorSource}.
 *
 * <p>{@link dev.peft4j.core.onnx.OnnxWeights} parses the protobuf wire format directly (no protobuf
 * library), keeps only the graph's initializers and the names of the nodes that consume them, and
 * presents the initializers under their Hugging Face names and shapes: weights that the PyTorch
 * exporter stored transposed under anonymous names ({@code onnx::MatMul_885}) are renamed after
 * their consuming node and transposed back to {@code [out, in]}. Malformed input of any kind raises
 * an {@link dev.peft4j.core.onnx.OnnxFormatException}.
 */
package dev.peft4j.core.onnx;
