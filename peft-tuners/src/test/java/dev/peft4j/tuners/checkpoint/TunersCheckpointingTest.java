package dev.peft4j.tuners.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.task.Losses;
import dev.peft4j.core.testing.CheckpointedGradients;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.ia3.Ia3Config;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static dev.peft4j.core.testing.CheckpointedGradients.relativeDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The other methods with gradient checkpointing: bottleneck adapters (dropout 0.3) and prompt
 * tuning on the tiny Llama fixture, IA³ on MiniLM (its dropouts on) give the plain run's
 * gradients; prefix tuning is refused as PEFT refuses it.
 */
class TunersCheckpointingTest {

    private static final long[] IDS = {1, 5, 9, 3, 2, 17, 7, 2, 11, 30, 0, 0};
    private static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

    private static CheckpointedGradients.Loss llamaLoss(LlamaForCausalLM lm) {
        return (ps, s) -> {
            NDArray x = s.create(IDS, new Shape(2, 6));
            NDArray logits = lm.forward(ps, x, s.create(MASK, new Shape(2, 6)), null, null, true).logits();
            long extra = logits.getShape().get(1) - 6;
            return Losses.causalLm(extra == 0 ? logits : logits.get(":, " + extra + ":, :"), x);
        };
    }

    private static void assertSameGradients(PeftModel<?> peft, CheckpointedGradients.Loss loss, boolean dropout) {
        Map<String, float[]> plain = CheckpointedGradients.of(peft, loss, false, 21);
        Map<String, float[]> checkpointed = CheckpointedGradients.of(peft, loss, true, 21);
        double diff = relativeDiff(plain, checkpointed);
        assertTrue(diff < 1e-5, "diff " + diff);
        if (dropout) {
            assertTrue(relativeDiff(plain, CheckpointedGradients.of(peft, loss, false, 22)) > 1e-2,
                    "dropout changes the gradients");
        }
    }

    @Test
    void bottleneckAdaptersWithDropout() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, BottleneckConfig.doubleSeqBn().optReductionFactor(4)
                    .optDropout(0.3).build(), m, 7);
            assertSameGradients(peft, llamaLoss(lm), true);
        }
    }

    @Test
    void promptTuningOnLlama() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, PromptTuningConfig.builder().setNumVirtualTokens(3)
                    .optTaskType("CAUSAL_LM").build(), m, 7);
            assertSameGradients(peft, llamaLoss(lm), false);
        }
    }

    @Test
    void ia3OnMiniLm() throws IOException {
        try (BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(
                Builtins.ALL_MINILM_L6_V2, PretrainedOptions.builder().optNumLabels(2).optPooling(Pooling.MEAN)
                        .build())) {
            NDManager owner = model.assets().owner().orElseThrow();
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, Ia3Config.builder().build(), owner, 1);
            long[] ids = new long[2 * 10];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 2000 + 53L * i;
            }
            assertSameGradients(peft, (ps, s) -> {
                NDArray x = s.create(ids, new Shape(2, 10));
                return Losses.crossEntropy(model.forward(ps, x, s.ones(x.getShape()), null, true),
                        s.create(new long[] {1, 0}));
            }, true);
        }
    }

    @Test
    void prefixTuningIsRefused() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = LlamaForCausalLM.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), m);
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, PrefixTuningConfig.builder().setNumVirtualTokens(3)
                    .optTaskType("CAUSAL_LM").build(), m, 7);
            FineTuner tuner = FineTuner.builder().setModel(peft)
                    .setTrainData(List.of(Map.of("input_ids", List.of(1, 5, 9, 3, 2))))
                    .optArguments(TrainingArguments.builder().optMaxSteps(1).optGradientCheckpointing(true).build())
                    .build();
            IllegalStateException e = assertThrows(IllegalStateException.class, tuner::fit);
            assertEquals(LayerStack.PREFIX_TUNING_REFUSED, e.getMessage());
            assertTrue(e.getMessage().startsWith("PREFIX_TUNING does not work with gradient checkpointing"));
        }
    }
}
