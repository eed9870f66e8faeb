/**
 * BitFit (Ben Zaken, Ravfogel and Goldberg 2022): train only bias terms, all of them or a named
 * subset, plus the task head. PEFT has no such type; this is a documented peft4j extension, {@code
 * peft_type} {@code BITFIT}, whose adapter holds the trained biases under their Hugging Face names
 * ({@code base_model.model.<module path>.bias}) and merges exactly into the base. {@link
 * dev.peft4j.tuners.bitfit.BitFitConfig} is the configuration and {@link
 * dev.peft4j.tuners.bitfit.BitFitMethod} the {@link dev.peft4j.core.peft.PeftMethod}.
 */
package dev.peft4j.tuners.bitfit;
