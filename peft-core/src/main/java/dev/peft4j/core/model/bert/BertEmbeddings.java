package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.LayerNorm;
import dev.peft4j.core.nn.Module;

/**
 * BERT's input layer: word + absolute position + token type embeddings, then {@code LayerNorm}
 * and hidden dropout. Children: {@code word_embeddings}, {@code position_embeddings}, {@code
 * token_type_embeddings}, {@code LayerNorm}.
 */
public class BertEmbeddings extends Module {

    private final int maxPositions;
    private final float dropout;

    /** @param config the model's config */
    public BertEmbeddings(BertConfig config) {
        this.maxPositions = config.maxPositionEmbeddings();
        this.dropout = (float) config.hiddenDropoutProb();
        registerModule("word_embeddings", new Embedding(config.vocabSize(), config.hiddenSize()));
        registerModule("position_embeddings", new Embedding(config.maxPositionEmbeddings(), config.hiddenSize()));
        registerModule("token_type_embeddings", new Embedding(config.typeVocabSize(), config.hiddenSize()));
        registerModule("LayerNorm", new LayerNorm(config.hiddenSize(), (float) config.layerNormEps()));
    }

    /**
     * @param ps the parameter store
     * @param inputIds token ids {@code [B, T]}
     * @param tokenTypeIds segment ids {@code [B, T]}, or {@code null} for all zeros
     * @param training whether this is a training pass (enables dropout)
     * @param masks the dropout mask source
     * @return embeddings {@code [B, T, H]}
     * @throws IllegalArgumentException when {@code T} exceeds {@code max_position_embeddings}
     */
    public NDArray forward(
            ParameterStore ps, NDArray inputIds, NDArray tokenTypeIds, boolean training, DropoutMasks masks) {
        return forward(ps, inputIds, tokenTypeIds, null, 0, training, masks);
    }

    /**
     * The embeddings with PEFT's prompt-learning inputs: virtual-token embeddings {@code prompt} in
     * front of the word embeddings (prompt tuning: {@code inputs_embeds = cat([prompt,
     * word_embeddings(input_ids)])}, then position, token-type and LayerNorm over all {@code n + T}
     * positions; virtual tokens get token type 0), and positions starting at {@code pastLength}
     * (prefix tuning: transformers' {@code past_key_values_length}).
     *
     * @param ps the parameter store
     * @param inputIds token ids {@code [B, T]}
     * @param tokenTypeIds segment ids {@code [B, T]}, or {@code null} for all zeros
     * @param prompt virtual-token embeddings {@code [B, n, H]} of the activations' type, or {@code
     *     null}
     * @param pastLength the first position id (the key/value prefix length; 0 without)
     * @param training whether this is a training pass (enables dropout)
     * @param masks the dropout mask source
     * @return embeddings {@code [B, n + T, H]}
     * @throws IllegalArgumentException when {@code pastLength + n + T} exceeds {@code
     *     max_position_embeddings}
     */
    public NDArray forward(ParameterStore ps, NDArray inputIds, NDArray tokenTypeIds, NDArray prompt,
            long pastLength, boolean training, DropoutMasks masks) {
        if (inputIds.getShape().dimension() != 2) {
            throw new IllegalArgumentException("input ids must be [batch, tokens], got " + inputIds.getShape());
        }
        long t = inputIds.getShape().get(1);
        long n = prompt == null ? 0 : prompt.getShape().get(1);
        long total = n + t;
        if (pastLength + total > maxPositions) {
            throw new IllegalArgumentException(n == 0 && pastLength == 0
                    ? t + " tokens exceed max_position_embeddings " + maxPositions
                    : t + " tokens after " + pastLength + " prefix positions and " + n + " virtual tokens exceed"
                            + " max_position_embeddings " + maxPositions);
        }
        NDManager m = inputIds.getManager();
        NDArray positions = m.arange((int) pastLength, (int) (pastLength + total), 1, DataType.INT64)
                .reshape(1, total);
        NDArray types;
        if (tokenTypeIds == null) {
            types = m.zeros(new Shape(1, total), DataType.INT64);
        } else if (n > 0) {
            types = m.zeros(new Shape(tokenTypeIds.getShape().get(0), n), tokenTypeIds.getDataType())
                    .concat(tokenTypeIds, 1);
        } else {
            types = tokenTypeIds;
        }
        NDArray words = ((Embedding) child("word_embeddings")).forward(ps, inputIds, training);
        if (prompt != null) {
            words = prompt.concat(words, 1);
        }
        NDArray h = words
                .add(((Embedding) child("token_type_embeddings")).forward(ps, types, training))
                .add(((Embedding) child("position_embeddings")).forward(ps, positions, training));
        h = ((LayerNorm) child("LayerNorm")).forward(ps, h, training);
        return DropoutMasks.dropout(h, dropout, training, masks);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray types = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(ps, inputs.get(0), types, training, DropoutMasks.engine()));
    }
}
