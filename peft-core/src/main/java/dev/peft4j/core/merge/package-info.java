/**
 * The streaming dense merge: an adapter merged into a (sharded) Hugging Face checkpoint tensor by
 * tensor, never holding the model ({@link dev.peft4j.core.merge.StreamingMerge}). The core knows no
 * method: a method gives its per-tensor rule as a {@link dev.peft4j.core.merge.TensorMergeRule},
 * opened from an adapter directory by its {@link dev.peft4j.core.merge.TensorMergeProvider} (found
 * through {@link java.util.ServiceLoader} by {@code peft_type}, {@link
 * dev.peft4j.core.merge.TensorMergeProviders}); a {@link dev.peft4j.core.merge.BaseWeightTransform}
 * reproduces what loading did to a base weight (QLoRA: quantize, then dequantize) before the rule
 * adds the adapter; a {@link dev.peft4j.core.merge.LayerSelection} limits the export to some decoder
 * layers.
 */
package dev.peft4j.core.merge;
