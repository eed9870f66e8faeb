/**
 * Tensors on disk: the safetensors reader and writer, sharded checkpoints, and the {@link
 * dev.peft4j.core.io.TensorSource} abstraction that model loaders read from.
 */
package dev.peft4j.core.io;
