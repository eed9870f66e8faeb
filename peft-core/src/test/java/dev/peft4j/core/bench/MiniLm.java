package dev.peft4j.core.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.model.bert.BertConfig;
import dev.peft4j.core.model.bert.BertModel;

/** Where the benchmark's MiniLM comes from. */
final class MiniLm {

    private MiniLm() {}

    static BertModel load(NDManager manager) {
        BertConfig c = BertConfig.builder().setVocabSize(30522).setHiddenSize(384).setNumHiddenLayers(6)
                .setNumAttentionHeads(12).setIntermediateSize(1536).build();
        BertModel model = new BertModel(c);
        model.initialize(manager, DataType.FLOAT32);
        return model;
    }

    static String describe() {
        return "MiniLM-shaped random weights";
    }
}
