package dev.peft4j.tuners;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.peft4j.core.data.LabeledText;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.Linear4bit;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.QuantizedLlama;
import dev.peft4j.quant.nn.QuantizedLoader;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every method trains over a 4-bit base loaded with quantize-on-load (QLoRA's setting): {@link
 * PeftModel#wrap} over {@link QuantizedLlama} / a MiniLM classifier whose linear layers became NF4
 * while streaming in, a few {@link FineTuner} steps, the loss finite and falling, and every base
 * parameter (the packed 4-bit weights and their quantization state included) unchanged byte for byte.
 */
class QuantizedBaseTrainingTest {

    private static final QuantizationConfig NF4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).build();

    /** Pre-tokenized causal-LM rows over the tiny Llama's 128 ids. */
    private static final List<Map<String, Object>> ROWS = List.of(
            Map.of("input_ids", List.of(1, 5, 9, 3, 2)), Map.of("input_ids", List.of(1, 7, 7, 2)),
            Map.of("input_ids", List.of(1, 10, 11, 12, 13, 2), "prompt_len", 3),
            Map.of("input_ids", List.of(1, 4, 2)), Map.of("input_ids", List.of(1, 20, 21, 22, 2)));

    private static Map<String, byte[]> bytes(Map<String, Parameter> params) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(k, p.getArray().toByteArray()));
        return out;
    }

    private static long fourBit(Module m) {
        return m.namedModules().values().stream().filter(x -> x instanceof Linear4bit).count();
    }

    /** Trains {@code steps} steps and returns the evaluation loss before and after. */
    private static double[] train(PeftModel<?> peft, Iterable<?> rows, int steps, double lr) throws IOException {
        FineTuner tuner = FineTuner.builder().setModel(peft).setTrainData(rows)
                .optArguments(TrainingArguments.builder().optBatchSize(4).optMaxSteps(steps).optLearningRate(lr)
                        .optSeed(3).build())
                .build();
        double before = tuner.evaluate(rows).loss();
        tuner.fit();
        double after = tuner.evaluate(rows).loss();
        return new double[] {before, after};
    }

    private static void trainLlama(PeftConfig config) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM lm = QuantizedLlama.load(Fixtures.fixture("tiny-causal-lm", "llama-bf16"), NF4, m);
            assertEquals(14, fourBit(lm), "7 linear layers x 2 decoder layers in 4 bits");
            Map<String, byte[]> base = bytes(lm.namedParameters());
            PeftModel<LlamaForCausalLM> peft = PeftModel.wrap(lm, config, m, 5);
            double[] loss = train(peft, ROWS, 6, 5e-2);
            System.out.printf("%s over an NF4 tiny Llama: eval loss %.4f -> %.4f%n", config.peftType(), loss[0],
                    loss[1]);
            assertTrue(Double.isFinite(loss[0]) && Double.isFinite(loss[1]), Arrays.toString(loss));
            assertTrue(loss[1] < loss[0] - 0.01, Arrays.toString(loss));
            base.forEach((k, v) -> assertArrayEquals(v, lm.namedParameters().get(k).getArray().toByteArray(), k));
            assertEquals(14, fourBit(lm));
        }
    }

    @Test
    void promptTuningTrainsOverAQuantizedOnLoadLlama() throws IOException {
        trainLlama(PromptTuningConfig.builder().setNumVirtualTokens(4).optTaskType("CAUSAL_LM").build());
    }

    @Test
    void prefixTuningTrainsOverAQuantizedOnLoadLlama() throws IOException {
        trainLlama(PrefixTuningConfig.builder().setNumVirtualTokens(3).optTaskType("CAUSAL_LM").build());
    }

    /** MiniLM (builtin) quantized while loading, a Houlsby bottleneck adapter and the head train. */
    @Test
    void bottleneckTrainsOverAQuantizedOnLoadMiniLm() throws IOException {
        Engine.getInstance().setRandomSeed(7);
        List<LabeledText> rows = List.of(
                new LabeledText("great tea, would buy again", "good"), new LabeledText("stale and bitter", "bad"),
                new LabeledText("the best cookies ever", "good"), new LabeledText("arrived broken, awful", "bad"),
                new LabeledText("delicious and fresh", "good"), new LabeledText("tasted like cardboard", "bad"),
                new LabeledText("my kids love it", "good"), new LabeledText("never again", "bad"));
        try (BertForSequenceClassification cls = BertForSequenceClassification.fromPretrained(Builtins.ALL_MINILM_L6_V2,
                PretrainedOptions.builder().optLabels(List.of("good", "bad")).optMaxLength(16)
                        .optWeightLoader(hf -> QuantizedLoader.forCheckpoint(hf, NF4)).build())) {
            assertEquals(37, fourBit(cls), "6 linear layers x 6 encoder layers + the pooler in 4 bits");
            Map<String, byte[]> base = bytes(cls.namedParameters());
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(cls,
                    BottleneckConfig.doubleSeqBn().optTaskType("SEQ_CLS").build());
            double[] loss = train(peft, rows, 6, 1e-2);
            System.out.printf("BOTTLENECK over an NF4 MiniLM: eval loss %.4f -> %.4f%n", loss[0], loss[1]);
            assertTrue(Double.isFinite(loss[0]) && Double.isFinite(loss[1]), Arrays.toString(loss));
            assertTrue(loss[1] < loss[0] - 0.01, Arrays.toString(loss));
            // the encoder is frozen; only the classifier (modules_to_save copy) and the adapters train
            base.forEach((k, v) -> {
                if (!k.startsWith("classifier.")) {
                    assertArrayEquals(v, cls.namedParameters().get(k).getArray().toByteArray(), k);
                }
            });
            assertEquals(37, fourBit(cls));
        }
    }
}
