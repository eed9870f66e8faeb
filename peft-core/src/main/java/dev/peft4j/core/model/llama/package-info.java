/**
 * The Llama family of decoder-only causal language models, which also covers Qwen2 and Mistral:
 * {@link dev.peft4j.core.model.llama.LlamaConfig} (from {@code config.json}), the module tree
 * {@link dev.peft4j.core.model.llama.LlamaForCausalLM} with Hugging Face parameter names, rotary
 * position embeddings, a {@link dev.peft4j.core.model.llama.KvCache} and a
 * {@link dev.peft4j.core.model.llama.Generator} for greedy and sampled generation.
 */
package dev.peft4j.core.model.llama;
