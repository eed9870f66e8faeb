package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/**
 * The exact GELU {@code x·Φ(x) = x/2·(1 + erf(x/√2))} that BERT's {@code hidden_act: gelu} names
 * (not the tanh approximation). DJL's PyTorch engine maps {@link Activation#gelu} to {@code
 * torch.nn.functional.gelu} with its default {@code approximate='none'}, which is this function;
 * {@code GeluTest} pins it against erf.
 */
final class Gelu {

    private Gelu() {}

    static NDArray apply(NDArray x) {
        return Activation.gelu(x);
    }
}
