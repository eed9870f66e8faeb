package dev.peft4j.core.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;

import java.io.IOException;
import java.util.Set;

/**
 * One adapter's merge, tensor by tensor: which base tensors it changes and, for each, the merged
 * value from the base value. A method implements it (LoRA: {@code W + s·B·A}); {@link
 * StreamingMerge} calls {@link #check} once, before anything is written, then {@link #merge} for
 * each changed tensor as the checkpoint streams past. Holds the adapter's (small) tensors; close it
 * when done.
 */
public interface TensorMergeRule extends AutoCloseable {

    /** @return where the adapter comes from (its directory), for messages */
    String source();

    /**
     * @return the quantization of the base the adapter was trained over, as the adapter records it
     *     (peft4j's {@code peft4j_base_quantization}, e.g. {@code nf4, blocksize 64, double quant});
     *     empty when unknown or full precision
     */
    default java.util.Optional<String> baseQuantization() {
        return java.util.Optional.empty();
    }

    /**
     * @return the base tensor names the adapter changes, e.g. {@code
     *     model.layers.0.self_attn.q_proj.weight}; final after {@link #check} (a rule may learn
     *     there which tensors it changes, such as the biases of IA³'s output-scaled layers)
     */
    Set<String> changedTensors();

    /**
     * Checks the adapter against the base before anything is written: every changed tensor exists
     * with a shape the adapter fits.
     *
     * @param base the base checkpoint
     * @throws IllegalArgumentException naming the adapter key and the base tensor when one is
     *     missing or its shape does not match
     */
    void check(TensorSource base);

    /**
     * The merged value of one changed tensor.
     *
     * @param name a name of {@link #changedTensors()}
     * @param base its base value, float32 (after any {@link BaseWeightTransform}); left open
     * @param manager owner of the result
     * @return the merged value, float32, the base's shape
     * @throws IOException when the adapter's tensors cannot be read
     */
    NDArray merge(String name, NDArray base, NDManager manager) throws IOException;

    @Override
    void close() throws IOException;
}
