package dev.peft4j.core.checkpoint;

/**
 * A module running a stack of layers that can be checkpointed: BERT's {@code encoder} and the
 * Llama family's {@code model} (the modules that Hugging Face's {@code gradient_checkpointing} flag
 * lives on).
 */
public interface HasLayerStack {

    /** @return the stack's checkpointing state */
    LayerStack layerStack();
}
