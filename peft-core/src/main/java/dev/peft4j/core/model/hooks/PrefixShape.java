package dev.peft4j.core.model.hooks;

/**
 * What a model's prefixes must look like.
 *
 * @param numLayers attention layers (a {@link KeyValuePrefix} gives one key and value per layer)
 * @param kvHeads key/value heads per layer
 * @param headDim the head width
 * @param hiddenSize the embedding width (an {@link InputPrefix}'s last dimension)
 */
public record PrefixShape(int numLayers, int kvHeads, int headDim, int hiddenSize) {

    /** @return PEFT's prefix-tuning {@code token_dim}: {@code headDim · kvHeads} */
    public int tokenDim() {
        return headDim * kvHeads;
    }
}
