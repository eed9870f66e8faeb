package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

/** BERT's pooler ({@code pooler}): {@code tanh(dense(hidden[:, 0]))}, child {@code dense}. */
public class BertPooler extends Module {

    /** @param config the model's config */
    public BertPooler(BertConfig config) {
        registerModule("dense", new Linear(config.hiddenSize(), config.hiddenSize(), true));
    }

    /**
     * @param ps the parameter store
     * @param hidden the last hidden state {@code [B, T, H]}
     * @param training whether this is a training pass
     * @return the pooled output {@code [B, H]}
     */
    public NDArray forward(ParameterStore ps, NDArray hidden, boolean training) {
        NDArray cls = hidden.get(":, 0");
        return ((LinearLike) child("dense")).forward(ps, cls, training).tanh();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
