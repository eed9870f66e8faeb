/**
 * The built-in model {@code builtin:all-minilm-l6-v2} and the ONNX reading behind it: an optional
 * module, so that peft-core, peft-quant and peft-lora bring no model jar.
 *
 * <p>{@link dev.peft4j.minilm.AllMiniLmL6V2} provides the model to {@link
 * dev.peft4j.core.model.Builtins} (a {@link dev.peft4j.core.model.BuiltinModelSource} found with
 * {@link java.util.ServiceLoader}); with this jar on the classpath, {@code
 * Builtins.get("builtin:all-minilm-l6-v2")} works, without it it fails naming this artifact.
 *
 * <p>{@link dev.peft4j.minilm.OnnxWeights} reads the weights of an ONNX model as a {@link
 * dev.peft4j.core.io.TensorSource}. It parses the protobuf wire format directly (no protobuf
 * library), keeps only the graph's initializers and the names of the nodes that consume them, and
 * presents the initializers under their Hugging Face names and shapes: weights that the PyTorch
 * exporter stored transposed under anonymous names ({@code onnx::MatMul_885}) are renamed after
 * their consuming node and transposed back to {@code [out, in]}. Malformed input of any kind raises
 * an {@link dev.peft4j.minilm.OnnxFormatException}.
 */
package dev.peft4j.minilm;
