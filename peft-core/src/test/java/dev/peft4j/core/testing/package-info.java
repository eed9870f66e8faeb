/**
 * Test helpers shared with the other modules through peft-core's test jar: {@link
 * dev.peft4j.core.testing.Fixtures} finds the shared reference fixtures, {@link
 * dev.peft4j.core.testing.OnnxReference} runs ONNX models in ONNX Runtime for reference outputs.
 */
package dev.peft4j.core.testing;
