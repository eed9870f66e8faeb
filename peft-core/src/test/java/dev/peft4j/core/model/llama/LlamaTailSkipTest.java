package dev.peft4j.core.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.hooks.ResidualSite;
import dev.peft4j.core.task.Losses;
import dev.peft4j.core.testing.CheckpointedGradients;
import dev.peft4j.core.testing.CountingLinear;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;

import static dev.peft4j.core.testing.CheckpointedGradients.absSum;
import static dev.peft4j.core.testing.CheckpointedGradients.relativeDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradient checkpointing recomputes a Llama layer without its frozen output projections ({@code
 * o_proj}, {@code down_proj}: their input gradient {@code dy·W} suffices), and with them when they
 * are trainable or a residual hook sits at their block; the gradients equal the plain run's
 * either way. Layer 0 of the two-layer fixture is the recomputed one (the last layer is recorded).
 */
class LlamaTailSkipTest {

    private static final long[] IDS = {1, 5, 9, 3, 2, 17, 7, 2, 11, 30, 0, 0};
    private static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    private NDManager manager;
    private LlamaForCausalLM lm;
    private CountingLinear oProj;
    private CountingLinear downProj;

    @BeforeEach
    void load() throws IOException {
        manager = NDManager.newBaseManager();
        lm = LlamaForCausalLM.load(LlamaTestSupport.tinyCausalLm().resolve("llama-bf16"), manager);
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray loss(ParameterStore ps, NDManager m) {
        NDArray ids = m.create(IDS, new Shape(2, 6));
        NDArray logits = lm.forward(ps, ids, m.create(MASK, new Shape(2, 6)), null, null, true).logits();
        long extra = logits.getShape().get(1) - 6;
        return Losses.causalLm(extra == 0 ? logits : logits.get(":, " + extra + ":, :"), ids);
    }

    /** Freezes all but {@code trainable}, counts layer 0's projections, checks the gradients. */
    private void train(String... trainable) {
        lm.freeze(p -> {
            for (String t : trainable) {
                if (p.contains(t)) {
                    return false;
                }
            }
            return true;
        });
        oProj = CountingLinear.install(lm, "model.layers.0.self_attn.o_proj");
        downProj = CountingLinear.install(lm, "model.layers.0.mlp.down_proj");
        Map<String, float[]> plain = CheckpointedGradients.of(lm, this::loss, false, 3);
        Map<String, float[]> checkpointed = CheckpointedGradients.of(lm, this::loss, true, 3);
        double diff = relativeDiff(plain, checkpointed);
        assertTrue(diff < 1e-5, "diff " + diff);
        assertTrue(absSum(checkpointed, "model.layers.0.self_attn.q_proj.weight") > 0);
        CheckpointedGradients.checkpointedStep(lm, this::loss, () -> {
            oProj.reset();
            downProj.reset();
        });
    }

    @Test
    void frozenProjectionsAreNotRecomputed() {
        train("q_proj", "gate_proj");
        assertEquals(0, oProj.calls(), "o_proj recomputed");
        assertEquals(0, downProj.calls(), "down_proj recomputed");
    }

    @Test
    void inputGradientsOfSkippedBlocksReachTrainableEmbeddings() {
        train("embed_tokens", "q_proj", "up_proj");
        assertEquals(0, oProj.calls() + downProj.calls());
    }

    @Test
    void aTrainableProjectionIsRecomputed() {
        train("q_proj", "down_proj");
        assertEquals(0, oProj.calls(), "o_proj recomputed");
        assertEquals(1, downProj.calls(), "down_proj recomputed");
    }

    @Test
    void aResidualHookMakesItsBlockRecomputedWhole() {
        for (ResidualSite s : lm.hooks().residualSites()) {
            if (s.path().endsWith("attention_adapters")) {
                s.setHook((p, r, training) -> r.standard());
            }
        }
        train("q_proj", "gate_proj");
        assertEquals(1, oProj.calls(), "o_proj recomputed");
        assertEquals(0, downProj.calls(), "down_proj recomputed");
    }
}
