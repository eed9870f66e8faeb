package dev.peft4j.core.model.bert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BertConfigTest {

    /** sentence-transformers/all-MiniLM-L6-v2's config.json, abridged. */
    static ObjectNode miniLm() {
        ObjectNode n = TinyBert.json();
        n.put("vocab_size", 30522);
        n.put("hidden_size", 384);
        n.put("num_hidden_layers", 6);
        n.put("num_attention_heads", 12);
        n.put("intermediate_size", 1536);
        n.put("max_position_embeddings", 512);
        n.put("initializer_range", 0.02);
        n.put("pad_token_id", 0);
        n.put("position_embedding_type", "absolute");
        n.putArray("architectures").add("BertModel");
        return n;
    }

    @Test
    void readsMiniLmConfig() {
        BertConfig c = BertConfig.from(HfConfig.of(miniLm(), "minilm/config.json"));
        assertEquals(384, c.hiddenSize());
        assertEquals(6, c.numHiddenLayers());
        assertEquals(12, c.numAttentionHeads());
        assertEquals(32, c.headDim());
        assertEquals(1536, c.intermediateSize());
        assertEquals(30522, c.vocabSize());
        assertEquals(512, c.maxPositionEmbeddings());
        assertEquals(2, c.typeVocabSize());
        assertEquals(1e-12, c.layerNormEps());
        assertEquals(0.1, c.hiddenDropoutProb());
        assertEquals(0.1, c.attentionProbsDropoutProb());
        assertEquals(0.1, c.classifierDropout());
        assertEquals("gelu", c.hiddenAct());
        assertEquals(List.of("LABEL_0", "LABEL_1"), c.labels());
        assertEquals("minilm/config.json", c.source());
    }

    @Test
    void readsLabels() {
        BertConfig c = from(n -> {
            n.putObject("id2label").put("1", "great").put("0", "other");
            n.put("classifier_dropout", 0.2);
        });
        assertEquals(List.of("other", "great"), c.labels());
        assertEquals(2, c.numLabels());
        assertEquals(0.2, c.classifierDropout());
        assertEquals(List.of("LABEL_0", "LABEL_1", "LABEL_2"), from(n -> n.put("num_labels", 3)).labels());
        assertEquals(List.of("a", "b", "c"), c.withLabels(List.of("a", "b", "c")).labels());
    }

    @Test
    void errorsNameFileAndField() {
        assertError("cfg.json: model_type 'gpt2' is not supported by the BERT family (supported: bert)",
                n -> n.put("model_type", "gpt2"));
        assertError("cfg.json: required field 'model_type' is missing", n -> n.remove("model_type"));
        assertError("cfg.json: field 'hidden_act' is 'relu' but BERT supports only 'gelu' (exact erf GELU)",
                n -> n.put("hidden_act", "relu"));
        assertError("cfg.json: field 'position_embedding_type' is 'relative_key' but BERT supports only 'absolute'",
                n -> n.put("position_embedding_type", "relative_key"));
        assertError("cfg.json: required field 'hidden_size' is missing", n -> n.remove("hidden_size"));
        assertError("cfg.json: field 'num_attention_heads' must be an integer, got \"two\"",
                n -> n.put("num_attention_heads", "two"));
        assertError("cfg.json: hidden_size 8 is not a multiple of num_attention_heads 3",
                n -> n.put("num_attention_heads", 3));
        assertError("cfg.json: hidden_dropout_prob must be in [0, 1), got 1.5", n -> n.put("hidden_dropout_prob", 1.5));
        assertError("cfg.json: field 'num_labels' is 3 but 'id2label' has 2 labels", n -> {
            n.putObject("id2label").put("0", "a").put("1", "b");
            n.put("num_labels", 3);
        });
        assertError("cfg.json: field 'id2label' must have ids 0..1, got [0, 2]",
                n -> n.putObject("id2label").put("0", "a").put("2", "b"));
        assertError("cfg.json: fields 'is_decoder'/'add_cross_attention' are set but BERT supports only the encoder",
                n -> n.put("is_decoder", true));
    }

    @Test
    void builderRequiresShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BertConfig.builder().setVocabSize(10).build());
        assertEquals("hidden_size is required", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BertConfig.builder().setVocabSize(10).setHiddenSize(4)
                .setNumHiddenLayers(1).setNumAttentionHeads(2).setIntermediateSize(0).build());
        assertEquals("intermediate_size must be positive, got 0", e.getMessage());
        BertConfig c = BertConfig.builder().setVocabSize(10).setHiddenSize(4).setNumHiddenLayers(1)
                .setNumAttentionHeads(2).setIntermediateSize(8).optLabels(List.of("x", "y", "z")).build();
        assertEquals(3, c.numLabels());
        assertEquals("<code>", c.source());
    }

    static BertConfig from(Consumer<ObjectNode> edit) {
        ObjectNode n = TinyBert.json();
        edit.accept(n);
        return BertConfig.from(HfConfig.of(n, "cfg.json"));
    }

    static void assertError(String message, Consumer<ObjectNode> edit) {
        ConfigException e = assertThrows(ConfigException.class, () -> from(edit));
        assertEquals(message, e.getMessage());
    }
}
