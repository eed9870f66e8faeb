package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

/**
 * The SwiGLU feed-forward block, Hugging Face's {@code LlamaMLP}: {@code down_proj(silu(gate_proj(x))
 * · up_proj(x))}.
 */
public class LlamaMlp extends Module {

    /** @param config the model configuration */
    public LlamaMlp(LlamaConfig config) {
        int hidden = config.hiddenSize();
        int inter = config.intermediateSize();
        boolean bias = config.mlpBias();
        registerModule("gate_proj", new Linear(hidden, inter, bias));
        registerModule("up_proj", new Linear(hidden, inter, bias));
        registerModule("down_proj", new Linear(inter, hidden, bias));
    }

    /**
     * @param ps the parameter store
     * @param x {@code [..., hidden]}
     * @param training whether this is a training pass
     * @return {@code [..., hidden]}
     */
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        return proj("down_proj").forward(ps, hidden(ps, x, training), training);
    }

    /**
     * {@code silu(gate_proj(x)) · up_proj(x)}: the input of {@code down_proj}.
     *
     * @param ps the parameter store
     * @param x {@code [..., hidden]}
     * @param training whether this is a training pass
     * @return {@code [..., intermediate]}
     */
    public NDArray hidden(ParameterStore ps, NDArray x, boolean training) {
        NDArray gate = proj("gate_proj").forward(ps, x, training);
        NDArray up = proj("up_proj").forward(ps, x, training);
        return gate.mul(Activation.sigmoid(gate)).mul(up);
    }

    private LinearLike proj(String name) {
        return (LinearLike) child(name);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
