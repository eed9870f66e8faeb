/**
 * IA³ ({@code peft_type} {@code IA3}, Liu et al. 2022) as in Hugging Face PEFT 0.20: learned vectors
 * that scale a linear layer's output (bias included) or, for feed-forward modules, its input.
 * {@link dev.peft4j.tuners.ia3.Ia3Config} is the configuration, {@link
 * dev.peft4j.tuners.ia3.Ia3Method} the {@link dev.peft4j.core.peft.PeftMethod}, {@link
 * dev.peft4j.tuners.ia3.Ia3Linear} the layer and {@link dev.peft4j.tuners.ia3.Ia3Adapters} PEFT's
 * {@code add_weighted_adapter}.
 */
package dev.peft4j.tuners.ia3;
