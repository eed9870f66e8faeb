/**
 * The generic adapter mechanism, independent of any adapter method: choosing target modules with
 * Hugging Face PEFT's rules ({@link dev.peft4j.core.adapter.TargetMatcher}), replacing them in a
 * {@link dev.peft4j.core.nn.Module} tree only after every target has been checked ({@link
 * dev.peft4j.core.adapter.AdapterInjector}), copying modules that are trained whole ({@link
 * dev.peft4j.core.adapter.ModuleCopies}), and PEFT's trainable-parameter report ({@link
 * dev.peft4j.core.adapter.TrainableParameters}).
 */
package dev.peft4j.core.adapter;
