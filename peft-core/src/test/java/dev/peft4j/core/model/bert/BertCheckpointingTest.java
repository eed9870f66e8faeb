package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.checkpoint.GradientCheckpointing;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.nn.DropoutMasks;
import dev.peft4j.core.testing.CheckpointedGradients;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.peft4j.core.testing.CheckpointedGradients.absSum;
import static dev.peft4j.core.testing.CheckpointedGradients.relativeDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradient checkpointing of BERT's encoder: the gradients equal the plain run's with hidden and
 * attention dropout at 0.1 (engine and seeded masks), with and without a graph on the encoder's
 * input; a recomputation with other masks would not; prefix tuning is refused.
 */
class BertCheckpointingTest {

    private static final long[] IDS = {1, 5, 9, 3, 2, 1, 7, 2, 11, 11};
    private static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    private NDManager owner;
    private BertModel model;

    @BeforeEach
    void setUp() {
        owner = NDManager.newBaseManager();
        model = new BertModel(TinyBert.config());
        BertModelTest.load(model, owner, TinyBert.weights(model, 8));
    }

    @AfterEach
    void tearDown() {
        owner.close();
    }

    private NDArray loss(ParameterStore ps, NDManager m) {
        NDArray ids = m.create(IDS, new Shape(2, 5));
        NDArray mask = m.create(MASK, new Shape(2, 5));
        NDArray h = model.forward(ps, ids, mask, null, true).lastHiddenState();
        return MeanPooling.apply(h, mask).square().sum();
    }

    private Map<String, float[]> grads(boolean checkpointing, int seed) {
        return CheckpointedGradients.of(model, this::loss, checkpointing, seed);
    }

    @Test
    void trainableEmbeddingsGetTheSameGradients() {
        model.freeze(p -> !p.contains("attention.self.query") && !p.contains("output.dense.bias")
                && !p.startsWith("embeddings.word"));
        Map<String, float[]> plain = grads(false, 7);
        Map<String, float[]> checkpointed = grads(true, 7);
        assertTrue(relativeDiff(plain, checkpointed) < 1e-5, "diff " + relativeDiff(plain, checkpointed));
        assertTrue(absSum(checkpointed, "embeddings.word_embeddings.weight") > 0, "input gradient reaches h_0");
        assertTrue(absSum(checkpointed, "encoder.layer.0.attention.self.query.weight") > 0);
        // Negative control: dropout is on, so another seed gives other gradients.
        assertTrue(relativeDiff(plain, grads(false, 8)) > 1e-2, "dropout changes the gradients");
    }

    @Test
    void frozenEmbeddingsAndSeededMasks() {
        model.freeze(p -> !p.contains("attention.self.query") && !p.contains("intermediate.dense"));
        model.setDropoutMasks(DropoutMasks.seeded(3));
        Map<String, float[]> plain = grads(false, 7);
        model.setDropoutMasks(DropoutMasks.seeded(3));
        Map<String, float[]> checkpointed = grads(true, 7);
        assertTrue(relativeDiff(plain, checkpointed) < 1e-5, "diff " + relativeDiff(plain, checkpointed));
        assertTrue(absSum(checkpointed, "encoder.layer.0.intermediate.dense.weight") > 0);
        model.setDropoutMasks(DropoutMasks.seeded(4));
        assertTrue(relativeDiff(plain, grads(false, 7)) > 1e-2, "other host masks, other gradients");
    }

    /** A recomputation that draws other masks than the first pass gives other gradients. */
    @Test
    void masksThatDoNotReplayGiveOtherGradients() {
        model.freeze(p -> !p.contains("attention.self.query") && !p.startsWith("embeddings.word"));
        Map<String, float[]> plain = grads(false, 7);
        model.setDropoutMasks(new DropoutMasks() {
            private long calls;

            @Override
            public NDArray apply(NDArray x, float rate) {
                return DropoutMasks.engine().apply(x, rate);
            }

            @Override
            public DropoutMasks forLayer(long layerSeed) {
                return DropoutMasks.engine().forLayer(layerSeed + calls++); // no replay
            }
        });
        double diff = relativeDiff(plain, grads(true, 7));
        assertTrue(diff > 1e-2, "diff " + diff);
    }

    @Test
    void prefixTuningIsRefused() {
        NDArray kv = owner.zeros(new Shape(2, TinyBert.HEADS, 2, TinyBert.HIDDEN / TinyBert.HEADS));
        List<NDArray> layers = List.of(kv, kv);
        model.hooks().setKeyValuePrefix(BertHooksTest.prefix(layers, layers));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> GradientCheckpointing.enable(model));
        assertEquals(LayerStack.PREFIX_TUNING_REFUSED, e.getMessage());
        assertTrue(e.getMessage().startsWith("PREFIX_TUNING does not work with gradient checkpointing"));
        assertTrue(e.getMessage().contains("--gradient-checkpointing"));
        assertFalse(GradientCheckpointing.isEnabled(model));

        model.hooks().setKeyValuePrefix(null);
        GradientCheckpointing.enable(model); // then a prefix arrives: the training pass refuses
        model.hooks().setKeyValuePrefix(BertHooksTest.prefix(layers, layers));
        model.freeze(p -> !p.contains("attention.self.query"));
        try (NDManager m = owner.newSubManager(); GradientCollector gc = m.getEngine().newGradientCollector()) {
            e = assertThrows(IllegalStateException.class, () -> loss(new ParameterStore(m, false), m));
            assertEquals(LayerStack.PREFIX_TUNING_REFUSED, e.getMessage());
        }
    }

    @Test
    void inferenceAndPassesOutsideACollectorAreNotCheckpointed() {
        GradientCheckpointing.enable(model);
        LayerStack stack = ((BertEncoder) model.child("encoder")).layerStack();
        try (NDManager m = owner.newSubManager()) {
            ParameterStore ps = new ParameterStore(m, false);
            NDArray ids = m.create(IDS, new Shape(2, 5));
            model.forward(ps, ids, null, null, false);
            model.forward(ps, ids, null, null, true);
            assertEquals(0, stack.pendingPasses());
        }
        assertThrows(IllegalArgumentException.class,
                () -> GradientCheckpointing.enable(new dev.peft4j.core.nn.Linear(2, 2, false)));
    }
}
