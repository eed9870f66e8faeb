package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.Module;

/**
 * One prompt-learning adapter's trained module, PEFT's {@code prompt_encoder[adapter]}: a table
 * {@code embedding} of {@code n} rows and, while training through a reparameterization, an MLP
 * head ({@code mlp_head} for P-tuning, {@code transform} for prefix projection). Its output for the
 * virtual-token indices {@code 0..n-1} is {@code head(embedding.weight)}, or the table itself
 * without a head. It sits in the base model's tree (under {@code prompt_encoder.<adapter>}) so that
 * it trains and saves with it.
 */
final class PromptEncoder extends Module {

    private final String headName;
    private final int numVirtualTokens;

    /**
     * @param rows the table's rows ({@code n})
     * @param dim the table's width
     * @param headName the head's child name, or null without a head
     * @param head the head, or null
     */
    PromptEncoder(int rows, long dim, String headName, EncoderMlp head) {
        this.numVirtualTokens = rows;
        this.headName = head == null ? null : headName;
        registerModule("embedding", new Embedding(rows, dim));
        if (head != null) {
            registerModule(headName, head);
        }
    }

    /** @return {@code n} */
    int numVirtualTokens() {
        return numVirtualTokens;
    }

    /** @return the table {@code [n, dim]}, PEFT's {@code embedding.weight} */
    Parameter table() {
        return child("embedding").parameter("weight");
    }

    /** @return whether an MLP head computes the output */
    boolean hasHead() {
        return headName != null;
    }

    /** @return the head, or null */
    EncoderMlp head() {
        return headName == null ? null : (EncoderMlp) child(headName);
    }

    /**
     * PEFT's {@code prompt_encoder(arange(n)[None].expand(B, -1))}; the result belongs to {@code
     * manager}.
     *
     * @param ps the parameter store (so that gradients reach the table and the head)
     * @param batchSize {@code B}
     * @param manager the manager of the pass
     * @param training whether this is a training pass
     * @return {@code [B, n, out]}
     */
    NDArray forward(ParameterStore ps, long batchSize, NDManager manager, boolean training) {
        NDArray ids = manager.arange(0f, (float) numVirtualTokens, 1f, DataType.INT64)
                .reshape(1, numVirtualTokens).repeat(0, batchSize);
        NDArray x = ((Embedding) child("embedding")).forward(ps, ids, training);
        return headName == null ? x : head().forward(ps, x, training);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                                     PairList<String, Object> params) {
        throw new UnsupportedOperationException("a prompt encoder runs through the model's prefix hook");
    }
}
