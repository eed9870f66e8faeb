package dev.peft4j.core.model.llama;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;

/** Fixture lookup and small models for the Llama tests. */
final class LlamaTestSupport {

    static final ObjectMapper MAPPER = new ObjectMapper();

    private LlamaTestSupport() {}

    /** @return {@code shared/fixtures/tiny-causal-lm}, or skips the test when absent */
    static Path tinyCausalLm() {
        return Fixtures.fixture("tiny-causal-lm");
    }

    static JsonNode expected() throws IOException {
        return MAPPER.readTree(tinyCausalLm().resolve("expected.json").toFile());
    }

    /** A small GQA config: 4 query heads over 2 key/value heads, head_dim 8. */
    static ObjectNode tinyConfig(String modelType) {
        ObjectNode c = MAPPER.createObjectNode();
        c.put("model_type", modelType);
        c.put("hidden_size", 32);
        c.put("intermediate_size", 48);
        c.put("num_hidden_layers", 2);
        c.put("num_attention_heads", 4);
        c.put("num_key_value_heads", 2);
        c.put("vocab_size", 64);
        c.put("rms_norm_eps", 1e-5);
        c.put("hidden_act", "silu");
        return c;
    }

    /** A randomly initialized model (weights scaled up so that logits are far from uniform). */
    static LlamaForCausalLM randomModel(LlamaConfig config, NDManager manager, long seed) {
        Engine.getInstance().setRandomSeed((int) seed);
        LlamaForCausalLM lm = new LlamaForCausalLM(config);
        lm.initialize(manager, DataType.FLOAT32);
        for (var p : lm.namedParameters().values()) {
            NDArray a = p.getArray();
            NDArray r = manager.randomNormal(0f, a.getShape().dimension() == 1 ? 0.5f : 0.3f, a.getShape(),
                    DataType.FLOAT32);
            if (a.getShape().dimension() == 1 && p.getName().equals("weight")) {
                r = r.add(1f); // norms around 1
            }
            a.set(r.toByteBuffer());
            r.close();
        }
        return lm;
    }

    /** @return the number of live resources (arrays, sub-managers) a DJL manager owns */
    static int resourceCount(NDManager manager) {
        try {
            java.lang.reflect.Field f = ai.djl.ndarray.BaseNDManager.class.getDeclaredField("resources");
            f.setAccessible(true);
            return ((Map<?, ?>) f.get(manager)).size();
        } catch (ReflectiveOperationException e) {
            Assumptions.abort("cannot count DJL resources: " + e);
            return -1;
        }
    }

}
