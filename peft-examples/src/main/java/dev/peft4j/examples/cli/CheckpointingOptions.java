package dev.peft4j.examples.cli;

import dev.peft4j.core.checkpoint.GradientCheckpointing;
import dev.peft4j.core.nn.Module;
import picocli.CommandLine.Option;

/** {@code --gradient-checkpointing} of {@code train}: {@link GradientCheckpointing} on the wrapped model. */
final class CheckpointingOptions {

    @Option(names = "--gradient-checkpointing",
            description = "Keep only each layer's input in the forward pass and recompute the layers (same dropout"
                    + " masks) in the backward pass: much less activation memory for about one more forward pass."
                    + " Not with prefix tuning.")
    boolean gradientCheckpointing;

    /**
     * Enables checkpointing on the model when asked.
     *
     * @param model the wrapped model
     * @throws IllegalStateException with a prefix-tuning adapter
     */
    void apply(Module model) {
        if (gradientCheckpointing) {
            GradientCheckpointing.enable(model);
        }
    }
}
