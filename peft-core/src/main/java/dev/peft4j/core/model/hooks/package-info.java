/**
 * Hooks that let PEFT methods which replace no layer plug into the model families: an {@link
 * dev.peft4j.core.model.hooks.InputPrefix} of virtual-token embeddings (prompt tuning, P-tuning),
 * a per-layer {@link dev.peft4j.core.model.hooks.KeyValuePrefix} (prefix tuning) and a {@link
 * dev.peft4j.core.model.hooks.ResidualHook} around each sublayer's residual connection
 * (bottleneck adapters). {@link dev.peft4j.core.model.hooks.PeftHooks} installs them on a BERT or
 * Llama-family model; with none installed the models compute exactly what they compute without
 * this package.
 */
package dev.peft4j.core.model.hooks;
