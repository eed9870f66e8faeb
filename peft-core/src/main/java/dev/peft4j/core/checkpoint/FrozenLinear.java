package dev.peft4j.core.checkpoint;

import ai.djl.training.ParameterStore;

/**
 * A linear map {@code y = x·Wᵀ (+ b)} that can hand out its input gradient {@code dy ↦ dy·W}
 * without being run: what lets gradient checkpointing skip a frozen output projection in a
 * recomputation ({@link ResidualBlockLayer}).
 *
 * <p>For a frozen {@code W} and a frozen or absent {@code b}, the backward pass needs nothing of the
 * layer but {@code dL/dx = dL/dy · W}: not its output, not its input. Implemented by the
 * full-precision {@code Linear} and by 4-bit layers; a layer wrapped by an adapter (LoRA, DoRA,
 * IA³) is a different module that does not implement it, so it is recomputed as usual.
 */
public interface FrozenLinear {

    /**
     * The input gradient of this layer, when that is all the backward pass needs of it.
     *
     * @param ps the parameter store the layer's forward pass reads its weight from
     * @return {@code dy ↦ dy·W} (run without recording, in {@code dy}'s manager, device and data
     *     type), or {@code null} when a parameter of the layer takes a gradient (a trainable
     *     weight or bias): then the layer must be run and differentiated
     */
    FrozenLinearTape.InputGradient frozenInputGradient(ParameterStore ps);
}
