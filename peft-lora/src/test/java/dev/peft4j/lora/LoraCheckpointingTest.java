package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.task.Losses;
import dev.peft4j.core.testing.CheckpointedGradients;
import dev.peft4j.core.testing.CountingLinear;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingResult;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;

import static dev.peft4j.core.testing.CheckpointedGradients.absSum;
import static dev.peft4j.core.testing.CheckpointedGradients.relativeDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA with gradient checkpointing: on MiniLM (hidden and attention dropout 0.1, LoRA dropout 0.1,
 * trained classifier) and on the tiny Llama fixture (LoRA dropout 0.2) the adapter gradients equal
 * the plain run's, another dropout seed gives other gradients, and a {@code FineTuner} run with
 * {@code optGradientCheckpointing} reproduces the losses of the run without it.
 */
class LoraCheckpointingTest {

    /** B = N(0, 0.2) so that lora_A gets a gradient too. */
    private static void randomB(PeftModel<?> peft, NDManager m) {
        Random random = new Random(3);
        for (LoraLinear l : LoraAdapters.loraLayers(peft).values()) {
            var b = l.loraB(PeftModel.DEFAULT_ADAPTER).parameter("weight");
            Shape shape = b.getArray().getShape();
            float[] v = new float[(int) shape.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) random.nextGaussian() * 0.2f;
            }
            Params.assign(b, m.create(v, shape));
        }
    }

    private static String key(Map<String, float[]> grads, String suffix) {
        return grads.keySet().stream().filter(k -> k.endsWith(suffix)).findFirst()
                .orElseThrow(() -> new AssertionError(suffix + " not in " + grads.keySet()));
    }

    @Test
    void miniLmGradientsMatch() throws IOException {
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(
                Builtins.ALL_MINILM_L6_V2, PretrainedOptions.builder().optNumLabels(2).optPooling(Pooling.MEAN)
                        .build())) {
            NDManager owner = model.assets().owner().orElseThrow();
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, LoraConfig.builder()
                    .setTargetModules("query", "value", "dense").optR(4).optLoraAlpha(8).optLoraDropout(0.1)
                    .optModulesToSave(List.of("classifier")).build(), owner, 1);
            randomB(peft, owner);
            long[] ids = new long[2 * 12];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1000 + 37L * i;
            }
            CheckpointedGradients.Loss loss = (ps, m) -> {
                NDArray x = m.create(ids, new Shape(2, 12));
                NDArray logits = model.forward(ps, x, m.ones(x.getShape()), null, true);
                return Losses.crossEntropy(logits, m.create(new long[] {0, 1}));
            };
            Map<String, float[]> plain = CheckpointedGradients.of(peft, loss, false, 5);
            Map<String, float[]> checkpointed = CheckpointedGradients.of(peft, loss, true, 5);
            double diff = relativeDiff(plain, checkpointed);
            assertTrue(diff < 1e-5, "diff " + diff);
            assertTrue(absSum(checkpointed, key(checkpointed, "encoder.layer.0.attention.self.query.lora_A.default.weight")) > 0);
            assertTrue(plain.keySet().stream().anyMatch(k -> k.contains("classifier")), plain.keySet().toString());
            assertTrue(relativeDiff(plain, CheckpointedGradients.of(peft, loss, false, 6)) > 1e-2,
                    "the dropouts change the gradients");
        }
    }

    @Test
    void tinyLlamaGradientsMatch() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, LoraConfig.builder()
                    .setTargetModules("q_proj", "v_proj", "down_proj").optR(4).optLoraAlpha(8).optLoraDropout(0.2)
                    .build(), m, 1);
            randomB(peft, m);
            CheckpointedGradients.Loss loss = LoraCheckpointingTest.tinyLlamaLoss(lm);
            Map<String, float[]> plain = CheckpointedGradients.of(peft, loss, false, 9);
            Map<String, float[]> checkpointed = CheckpointedGradients.of(peft, loss, true, 9);
            double diff = relativeDiff(plain, checkpointed);
            assertTrue(diff < 1e-5, "diff " + diff);
            assertTrue(absSum(checkpointed, key(checkpointed, "model.layers.0.self_attn.q_proj.lora_A.default.weight")) > 0);
            assertTrue(relativeDiff(plain, CheckpointedGradients.of(peft, loss, false, 10)) > 1e-2,
                    "LoRA dropout changes the gradients");
        }
    }

    /**
     * LoRA (dropout 0.2) on {@code targets} of the tiny Llama, whose layer-0 {@code o_proj} and
     * {@code down_proj} count their calls: the gradients equal the plain run's, and the
     * recomputation of layer 0 runs each of them {@code tailCalls} times.
     */
    private static void assertTailSkip(int tailCalls, String... targets) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            CountingLinear oProj = CountingLinear.install(lm, "model.layers.0.self_attn.o_proj");
            CountingLinear downProj = CountingLinear.install(lm, "model.layers.0.mlp.down_proj");
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, LoraConfig.builder()
                    .setTargetModules(targets).optR(4).optLoraAlpha(8).optLoraDropout(0.2).build(), m, 1);
            randomB(peft, m);
            CheckpointedGradients.Loss loss = LoraCheckpointingTest.tinyLlamaLoss(lm);
            Map<String, float[]> plain = CheckpointedGradients.of(peft, loss, false, 9);
            Map<String, float[]> checkpointed = CheckpointedGradients.of(peft, loss, true, 9);
            double diff = relativeDiff(plain, checkpointed);
            assertTrue(diff < 1e-5, "diff " + diff);
            for (String target : targets) {
                String path = "model.layers.0." + (target.endsWith("_proj") && (target.startsWith("gate")
                        || target.startsWith("up") || target.startsWith("down")) ? "mlp." : "self_attn.")
                        + target + ".lora_A.default.weight";
                assertTrue(absSum(checkpointed, key(checkpointed, path)) > 0, path);
            }
            assertTrue(relativeDiff(plain, CheckpointedGradients.of(peft, loss, false, 10)) > 1e-2,
                    "LoRA dropout changes the gradients");
            CheckpointedGradients.checkpointedStep(peft, loss, () -> {
                oProj.reset();
                downProj.reset();
            });
            assertEquals(tailCalls, oProj.calls(), "o_proj calls in the recomputation");
            assertEquals(tailCalls, downProj.calls(), "down_proj calls in the recomputation");
        }
    }

    @Test
    void loraOnQueryAndValueSkipsBothOutputProjections() throws IOException {
        assertTailSkip(0, "q_proj", "v_proj");
    }

    @Test
    void loraOnAllLinearLayersRecomputesThemWhole() throws IOException {
        assertTailSkip(1, "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    }

    @Test
    void fineTunerRunsReproduceTheLosses() throws IOException {
        List<Map<String, Object>> rows = List.of(
                Map.of("input_ids", List.of(1, 5, 9, 3, 2)), Map.of("input_ids", List.of(1, 7, 7, 2)),
                Map.of("input_ids", List.of(1, 10, 11, 12, 13, 2)), Map.of("input_ids", List.of(1, 4, 2)));
        SortedMap<Long, Double> plain = fit(rows, false);
        SortedMap<Long, Double> checkpointed = fit(rows, true);
        assertEquals(plain.keySet(), checkpointed.keySet());
        for (long step : plain.keySet()) {
            assertEquals(plain.get(step), checkpointed.get(step), 1e-5, "step " + step);
        }
        assertFalse(plain.get(1L).equals(plain.get(plain.lastKey())), "the adapter trains: " + plain);
    }

    private static SortedMap<Long, Double> fit(List<Map<String, Object>> rows, boolean checkpointing)
            throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, LoraConfig.builder()
                    .setTargetModules("q_proj", "v_proj").optR(4).optLoraAlpha(8).optLoraDropout(0.3).build(), m, 1);
            TrainingResult r = FineTuner.builder().setModel(peft).setTrainData(rows)
                    .optArguments(TrainingArguments.builder().optBatchSize(2).optMaxSteps(4).optLearningRate(5e-2)
                            .optSeed(3).optGradientCheckpointing(checkpointing).build())
                    .build().fit();
            assertFalse(dev.peft4j.core.checkpoint.GradientCheckpointing.isEnabled(peft),
                    "the run leaves the model as it found it");
            return r.losses();
        }
    }

    /** The causal-LM loss of two padded rows of six ids over the tiny Llama, in training mode. */
    static CheckpointedGradients.Loss tinyLlamaLoss(LlamaForCausalLM lm) {
        long[] ids = {1, 5, 9, 3, 2, 17, 7, 2, 11, 30, 0, 0};
        long[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
        return (ps, s) -> {
            NDArray x = s.create(ids, new Shape(2, 6));
            NDArray logits = lm.forward(ps, x, s.create(mask, new Shape(2, 6)), null, null, true).logits();
            return Losses.causalLm(logits, x);
        };
    }
}
