package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.peft4j.core.testing.ArrayDiff.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA on q_proj/v_proj of the tiny causal-LM fixtures (Llama BF16, Qwen2 with biases and tied embeddings). */
class LlamaLoraFixtureTest {

    private static long[] ids(String name) throws Exception {
        JsonNode exp = new ObjectMapper().readTree(Fixtures.fixture("tiny-causal-lm", "expected.json").toFile()).get(name);
        long[] ids = new long[exp.get("ids").size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = exp.get("ids").get(i).asLong();
        }
        return ids;
    }

    private static NDArray logits(Module model, long[] ids, NDManager m) {
        LlamaForCausalLM lm = (LlamaForCausalLM) (model instanceof PeftModel p ? p.baseModel() : model);
        return lm.forward(new ParameterStore(m, false), m.create(ids, new Shape(1, ids.length)), null, null, null, false)
                .logits();
    }

    @Test
    void llamaQvAdapter() throws Exception {
        Path dir = Fixtures.fixture("tiny-causal-lm", "llama-bf16");
        long[] ids = ids("llama-bf16");
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(dir, m);
            List<String> names = new ArrayList<>(lm.namedParameters().keySet());
            NDArray base = logits(lm, ids, m);
            PeftModel<?> p = PeftModel.wrap(lm, LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(4)
                    .optLoraAlpha(8).optTaskType("CAUSAL_LM").build(), m);
            // q: 4·32 + 32·4, v: 4·32 + 16·4, two layers; base 32,928
            assertEquals("trainable params: 896 || all params: 33,824 || trainable%: 2.6490",
                    p.trainableParameters().toString());
            assertTrue(base.contentEquals(logits(p, ids, m)), "a fresh adapter changes nothing");

            p.addAdapter("rand", LoraConfig.builder().setTargetModules("q_proj", "v_proj").optR(4).optLoraAlpha(8)
                    .optInitLoraWeights(LoraInit.RANDOM).build());
            p.setAdapter("rand");
            NDArray adapted = logits(p, ids, m);
            assertTrue(maxAbsDiff(base, adapted) > 1e-3, "a random adapter changes the logits");
            p.merge(true);
            double merged = maxAbsDiff(adapted, logits(p, ids, m));
            assertTrue(merged < 1e-4, "merged vs unmerged: " + merged);
            Module plain = p.mergeAndUnload();
            assertEquals(names, new ArrayList<>(plain.namedParameters().keySet()), "plain model, HF names");
            assertTrue(maxAbsDiff(adapted, logits(plain, ids, m)) < 1e-4);
        }
    }

    @Test
    void allLinearLeavesLmHeadAlone() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            PeftModel<?> p = PeftModel.wrap(lm, LoraConfig.builder().setTargetModules(TargetModules.allLinear()).build(), m);
            assertEquals(14, p.targetPaths("default").size());
            assertFalse(p.targetPaths("default").contains("lm_head"));
            assertEquals(List.of("down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"),
                    LoraAdapters.config(p, "default").targetModules().names());
        }
    }

    @Test
    void qwen2SaveLoadWithBiases(@TempDir Path out) throws Exception {
        Path dir = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        long[] ids = ids("qwen2-f32-sharded");
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> p = PeftModel.wrap(LlamaForCausalLM.load(dir, m), LoraConfig.builder()
                    .setTargetModules("q_proj", "v_proj").optR(2).optBias(LoraBias.LORA_ONLY)
                    .optInitLoraWeights(LoraInit.RANDOM).build(), m, 3);
            NDArray adapted = logits(p, ids, m);
            p.save(out);
            PeftModel<?> q = PeftModel.load(LlamaForCausalLM.load(dir, m), out, m);
            assertTrue(adapted.contentEquals(logits(q, ids, m)));
            assertTrue(q.adapterStateDict("default").containsKey(
                    "base_model.model.model.layers.1.self_attn.v_proj.base_layer.bias"));
        }
    }
}
