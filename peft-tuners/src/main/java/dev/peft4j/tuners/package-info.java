/**
 * The PEFT methods beside LoRA, each a {@link dev.peft4j.core.peft.PeftMethod} of the core in a
 * package of its own: IA³ ({@code ia3}), prompt tuning and P-tuning ({@code prompt}), prefix
 * tuning ({@code prefix}), bottleneck adapters in AdapterHub's format ({@code bottleneck}) and
 * BitFit ({@code bitfit}). They are found through {@code META-INF/services}, so {@code
 * PeftModel.load} reads their adapter directories once this module is on the class path.
 */
package dev.peft4j.tuners;
