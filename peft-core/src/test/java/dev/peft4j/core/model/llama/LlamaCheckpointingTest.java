package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.checkpoint.GradientCheckpointing;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.nn.Dropout;
import dev.peft4j.core.task.Losses;
import dev.peft4j.core.testing.CheckpointedGradients;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;

import static dev.peft4j.core.testing.CheckpointedGradients.absSum;
import static dev.peft4j.core.testing.CheckpointedGradients.relativeDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradient checkpointing of the Llama decoder stack (tiny fixture, GQA, padded batch): the
 * gradients equal the plain run's with an engine dropout of 0.3 at every MLP residual, with
 * frozen embeddings and with a prompt in front of trainable ones; a KV cache is never
 * checkpointed; a key/value prefix is refused.
 */
class LlamaCheckpointingTest {

    private static final long[] IDS = {1, 5, 9, 3, 2, 17, 7, 2, 11, 30, 0, 0};
    private static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    private NDManager manager;
    private LlamaForCausalLM lm;

    @BeforeEach
    void load() throws IOException {
        manager = NDManager.newBaseManager();
        lm = LlamaForCausalLM.load(LlamaTestSupport.tinyCausalLm().resolve("llama-bf16"), manager);
        Dropout dropout = new Dropout(0.3);
        for (ResidualSite s : lm.hooks().residualSites()) {
            if (s.path().endsWith("output_adapters")) {
                s.setHook((p, r, training) -> r.residual().add(dropout.forward(r.output(), training)));
            }
        }
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray loss(ParameterStore ps, NDManager m) {
        NDArray ids = m.create(IDS, new Shape(2, 6));
        NDArray mask = m.create(MASK, new Shape(2, 6));
        NDArray logits = lm.forward(ps, ids, mask, null, null, true).logits();
        long extra = logits.getShape().get(1) - 6;
        return Losses.causalLm(extra == 0 ? logits : logits.get(":, " + extra + ":, :"), ids);
    }

    private Map<String, float[]> grads(boolean checkpointing, int seed) {
        return CheckpointedGradients.of(lm, this::loss, checkpointing, seed);
    }

    @Test
    void frozenEmbeddingsGetTheSameGradients() {
        lm.freeze(p -> !p.contains("q_proj") && !p.contains("down_proj"));
        Map<String, float[]> plain = grads(false, 11);
        Map<String, float[]> checkpointed = grads(true, 11);
        assertTrue(relativeDiff(plain, checkpointed) < 1e-5, "diff " + relativeDiff(plain, checkpointed));
        assertTrue(absSum(checkpointed, "model.layers.0.self_attn.q_proj.weight") > 0);
        assertTrue(relativeDiff(plain, grads(false, 12)) > 1e-2, "dropout changes the gradients");
    }

    @Test
    void promptBeforeTrainableEmbeddingsGetsTheSameGradients() {
        lm.hooks().setInputPrefix(LlamaHooksTest.prompt(manager.randomNormal(new Shape(3, 32))));
        lm.freeze(p -> !p.contains("embed_tokens") && !p.contains("v_proj"));
        Map<String, float[]> plain = grads(false, 5);
        Map<String, float[]> checkpointed = grads(true, 5);
        assertTrue(relativeDiff(plain, checkpointed) < 1e-5, "diff " + relativeDiff(plain, checkpointed));
        assertTrue(absSum(checkpointed, "model.embed_tokens.weight") > 0, "the gradient reaches h_0's graph");
    }

    @Test
    void aCacheIsNeverCheckpointedAndAPrefixIsRefused() {
        GradientCheckpointing.enable(lm);
        LayerStack stack = lm.model().layerStack();
        try (NDManager m = manager.newSubManager();
                KvCache cache = lm.newCache(m);
                ai.djl.training.GradientCollector gc = m.getEngine().newGradientCollector()) {
            lm.forward(new ParameterStore(m, false), m.create(IDS, new Shape(2, 6)), null, null, cache, true);
            assertEquals(0, stack.pendingPasses());
        }
        NDArray flat = manager.zeros(new Shape(2, 2 * 2 * lm.hooks().prefixShape().tokenDim()));
        lm.hooks().setKeyValuePrefix(LlamaHooksTest.flatPrefix(flat, lm.config()));
        lm.freeze(p -> !p.contains("q_proj"));
        try (NDManager m = manager.newSubManager();
                ai.djl.training.GradientCollector gc = m.getEngine().newGradientCollector()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> loss(new ParameterStore(m, false), m));
            assertEquals(LayerStack.PREFIX_TUNING_REFUSED, e.getMessage());
        }
        GradientCheckpointing.disable(lm);
        assertThrows(IllegalStateException.class, () -> GradientCheckpointing.enable(lm));
    }
}
