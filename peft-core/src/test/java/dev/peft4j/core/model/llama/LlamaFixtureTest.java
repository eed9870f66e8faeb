package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Logits of the tiny fixture checkpoints against a float64 reference of the Hugging Face forward. */
class LlamaFixtureTest {

    static final List<String> LLAMA_NAMES = List.of(
            "model.embed_tokens.weight",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.v_proj.weight",
            "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight",
            "model.layers.0.mlp.up_proj.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.0.post_attention_layernorm.weight",
            "model.layers.1.self_attn.q_proj.weight",
            "model.layers.1.self_attn.k_proj.weight",
            "model.layers.1.self_attn.v_proj.weight",
            "model.layers.1.self_attn.o_proj.weight",
            "model.layers.1.mlp.gate_proj.weight",
            "model.layers.1.mlp.up_proj.weight",
            "model.layers.1.mlp.down_proj.weight",
            "model.layers.1.input_layernorm.weight",
            "model.layers.1.post_attention_layernorm.weight",
            "model.norm.weight",
            "lm_head.weight");

    static final List<String> QWEN2_NAMES = List.of(
            "model.embed_tokens.weight",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.0.self_attn.q_proj.bias",
            "model.layers.0.self_attn.k_proj.weight",
            "model.layers.0.self_attn.k_proj.bias",
            "model.layers.0.self_attn.v_proj.weight",
            "model.layers.0.self_attn.v_proj.bias",
            "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mlp.gate_proj.weight",
            "model.layers.0.mlp.up_proj.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.0.input_layernorm.weight",
            "model.layers.0.post_attention_layernorm.weight",
            "model.layers.1.self_attn.q_proj.weight",
            "model.layers.1.self_attn.q_proj.bias",
            "model.layers.1.self_attn.k_proj.weight",
            "model.layers.1.self_attn.k_proj.bias",
            "model.layers.1.self_attn.v_proj.weight",
            "model.layers.1.self_attn.v_proj.bias",
            "model.layers.1.self_attn.o_proj.weight",
            "model.layers.1.mlp.gate_proj.weight",
            "model.layers.1.mlp.up_proj.weight",
            "model.layers.1.mlp.down_proj.weight",
            "model.layers.1.input_layernorm.weight",
            "model.layers.1.post_attention_layernorm.weight",
            "model.norm.weight");

    static LlamaForCausalLM load(Path dir, NDManager manager) throws Exception {
        return LlamaForCausalLM.load(dir, manager);
    }

    /** @return the max abs error over every position */
    static float checkLogits(String name) throws Exception {
        Path dir = LlamaTestSupport.tinyCausalLm().resolve(name);
        JsonNode exp = LlamaTestSupport.expected().get(name);
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = load(dir, m);
            long[] ids = new long[exp.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = exp.get("ids").get(i).asLong();
            }
            NDArray logits = lm.forward(new ParameterStore(m, false), m.create(ids, new Shape(1, ids.length)),
                    null, null, null, false).logits();
            assertEquals(new Shape(1, ids.length, 128), logits.getShape());
            float[] got = logits.toFloatArray();
            float worst = 0;
            for (int t = 0; t < ids.length; t++) {
                JsonNode row = exp.get("logits").get(t);
                for (int v = 0; v < row.size(); v++) {
                    float d = Math.abs(got[t * 128 + v] - (float) row.get(v).asDouble());
                    worst = Math.max(worst, d);
                    assertTrue(d <= 1e-4, name + " position " + t + " token " + v + " differs by " + d);
                }
            }
            System.out.println(name + ": max abs error vs expected.json = " + worst);
            return worst;
        }
    }

    @Test
    void llamaBf16LogitsMatchReference() throws Exception {
        checkLogits("llama-bf16");
    }

    @Test
    void qwen2ShardedTiedLogitsMatchReference() throws Exception {
        checkLogits("qwen2-f32-sharded");
    }

    @Test
    void parameterNamesAreHuggingFaces() throws Exception {
        Path root = LlamaTestSupport.tinyCausalLm();
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM llama = load(root.resolve("llama-bf16"), m);
            assertEquals(LLAMA_NAMES, new ArrayList<>(llama.namedParameters().keySet()));
            try (TensorSource src = TensorSources.open(root.resolve("llama-bf16"))) {
                assertEquals(LLAMA_NAMES.stream().sorted().toList(), src.names().stream().sorted().toList());
            }

            LlamaForCausalLM qwen = load(root.resolve("qwen2-f32-sharded"), m);
            assertEquals(QWEN2_NAMES, new ArrayList<>(qwen.namedParameters().keySet()));
            try (TensorSource src = TensorSources.open(root.resolve("qwen2-f32-sharded"))) {
                assertEquals(QWEN2_NAMES.stream().sorted().toList(), src.names().stream().sorted().toList(),
                        "the tied checkpoint has no lm_head.weight");
            }
            assertSame(qwen.getModule("model.embed_tokens").parameter("weight"),
                    qwen.getModule("lm_head").parameter("weight"), "lm_head is tied to embed_tokens");
            // 128*32 + 2 * (q 32*32+32, k 16*32+16, v 16*32+16, o 32*32, mlp 3*32*96, norms 2*32) + 32
            assertEquals(4096 + 2 * (1056 + 528 + 528 + 1024 + 9216 + 64) + 32, qwen.parameterCount());
        }
    }
}
