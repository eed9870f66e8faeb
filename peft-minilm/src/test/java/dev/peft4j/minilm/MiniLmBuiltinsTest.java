package dev.peft4j.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

/**
 * Resolution of builtin ids with peft-minilm on the classpath (found through ServiceLoader), the
 * config and the tokenizer file (weights: BuiltinMiniLmTest; without the module: peft-core's
 * BuiltinsTest).
 */
class MiniLmBuiltinsTest {

    @Test
    void knownIds() {
        assertEquals(List.of("builtin:all-minilm-l6-v2"), Builtins.ids());
        assertTrue(Builtins.isBuiltin("builtin:whatever"));
        assertFalse(Builtins.isBuiltin("sentence-transformers/all-MiniLM-L6-v2"));
        assertFalse(Builtins.isBuiltin(null));
        BuiltinModel m = Builtins.get("builtin:all-minilm-l6-v2");
        assertEquals("builtin:all-minilm-l6-v2", m.id());
        assertEquals("sentence-transformers/all-MiniLM-L6-v2 (BertModel, fp32)", m.description());
        assertEquals("builtin:all-minilm-l6-v2", m.toString());
    }

    @Test
    void unknownIdListsKnownOnes() {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Builtins.get("builtin:gpt-5"));
        assertEquals(
                "unknown builtin model 'builtin:gpt-5' (known: builtin:all-minilm-l6-v2)",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Builtins.get(null));
        assertEquals(
                "unknown builtin model 'null' (known: builtin:all-minilm-l6-v2)", e.getMessage());
    }

    @Test
    void configIsTheHuggingFaceBertConfig() {
        ObjectNode c = Builtins.get(Builtins.ALL_MINILM_L6_V2).config();
        assertEquals("bert", c.get("model_type").asText());
        assertEquals("BertModel", c.get("architectures").get(0).asText());
        assertEquals(384, c.get("hidden_size").asInt());
        assertEquals(6, c.get("num_hidden_layers").asInt());
        assertEquals(12, c.get("num_attention_heads").asInt());
        assertEquals(1536, c.get("intermediate_size").asInt());
        assertEquals(30522, c.get("vocab_size").asInt());
        assertEquals(512, c.get("max_position_embeddings").asInt());
        assertEquals(2, c.get("type_vocab_size").asInt());
        assertEquals(1e-12, c.get("layer_norm_eps").asDouble());
        assertEquals("gelu", c.get("hidden_act").asText());
        assertEquals(0, c.get("pad_token_id").asInt());
        assertEquals("absolute", c.get("position_embedding_type").asText());
        // A copy each time.
        c.put("hidden_size", 1);
        assertEquals(
                384, Builtins.get(Builtins.ALL_MINILM_L6_V2).config().get("hidden_size").asInt());
    }

    @Test
    void tokenizerJson() throws IOException {
        String json = Builtins.get(Builtins.ALL_MINILM_L6_V2).tokenizerJson();
        JsonNode root = new ObjectMapper().readTree(json);
        assertEquals("WordPiece", root.get("model").get("type").asText());
        assertEquals(30522, root.get("model").get("vocab").size());
    }
}
