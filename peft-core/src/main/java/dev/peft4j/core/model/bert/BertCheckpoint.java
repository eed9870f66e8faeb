package dev.peft4j.core.model.bert;

import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.ConfigException;

/** Naming conventions of BERT checkpoints, shared by the loaders. */
final class BertCheckpoint {

    static final String WORD_EMBEDDINGS = "embeddings.word_embeddings.weight";
    static final String POOLER = "pooler.dense.weight";

    private BertCheckpoint() {}

    /**
     * @param source a checkpoint
     * @return {@code "bert."} for a task model's checkpoint ({@code BertFor...}), {@code ""} for a
     *     plain {@code BertModel}'s
     * @throws ConfigException when the source holds no BERT embeddings under either name
     */
    static String prefix(TensorSource source) {
        if (source.contains("bert." + WORD_EMBEDDINGS)) {
            return "bert.";
        }
        if (source.contains(WORD_EMBEDDINGS)) {
            return "";
        }
        throw new ConfigException("no BERT weights in " + source.location() + ": neither '" + WORD_EMBEDDINGS
                + "' nor 'bert." + WORD_EMBEDDINGS + "' is there");
    }

    /** Buffers some checkpoints save ({@code embeddings.position_ids}, {@code embeddings.token_type_ids}). */
    static boolean isBuffer(String name) {
        return name.endsWith("embeddings.position_ids") || name.endsWith("embeddings.token_type_ids");
    }

    /** Old TensorFlow-converted checkpoints name LayerNorm parameters gamma and beta. */
    static String canonical(String name) {
        if (name.endsWith("LayerNorm.gamma")) {
            return name.substring(0, name.length() - "gamma".length()) + "weight";
        }
        if (name.endsWith("LayerNorm.beta")) {
            return name.substring(0, name.length() - "beta".length()) + "bias";
        }
        return name;
    }
}
