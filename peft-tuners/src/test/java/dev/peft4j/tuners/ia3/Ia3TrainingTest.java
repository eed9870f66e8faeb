package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.data.TinyTokenizer;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.FineTuner;
import dev.peft4j.core.train.TinyClassifier;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.Linear4bit;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.Quantizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** IA³ trains with {@link FineTuner}: only the vectors move; over a 4-bit base too, exported densely. */
class Ia3TrainingTest {

    private static void train(PeftModel<?> peft, Path out, NDManager m) throws Exception {
        try (TextTokenizer tokenizer = TinyTokenizer.build(8, true)) {
            FineTuner.builder().setModel(peft).setTrainData(TinyClassifier.TRAIN).optTokenizer(tokenizer)
                    .optArguments(TrainingArguments.builder().optOutputDir(out).optEpochs(2).optBatchSize(4)
                            .optLearningRate(5e-2).build())
                    .build().fit();
        }
    }

    private static Map<String, byte[]> values(Module model) {
        Map<String, byte[]> out = new java.util.LinkedHashMap<>();
        model.namedParameters().forEach((k, p) -> out.put(k, p.getArray().toByteArray()));
        return out;
    }

    @Test
    void trainingChangesOnlyTheVectors(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, Ia3Config.builder().build(), m, 1);
            Map<String, byte[]> before = values(peft);
            train(peft, dir.resolve("run"), m);
            int moved = 0;
            for (Map.Entry<String, byte[]> e : values(peft).entrySet()) {
                boolean changed = !Arrays.equals(before.get(e.getKey()), e.getValue());
                if (e.getKey().contains(".ia3_l.")) {
                    moved += changed ? 1 : 0;
                } else {
                    assertTrue(!changed, e.getKey() + " changed");
                }
            }
            assertEquals(4, moved, "every ia3_l vector trained");
        }
    }

    @Test
    void overA4bitBaseItTrainsAndExportsDensely(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            List<String> q = Quantizer.quantizeModules(model, QuantizationConfig.builder().setQuantType(QuantType.NF4)
                    .optSkipModules(List.of("classifier")).build());
            assertEquals(6, q.size(), q.toString());
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model, Ia3Config.builder().build(), m, 1);
            assertInstanceOf(Linear4bit.class, Ia3Adapters.layers(peft).get("bert.encoder.layer.0.attention.self.key")
                    .baseLayer());
            Map<String, byte[]> before = values(peft);
            train(peft, dir.resolve("run"), m);
            for (Map.Entry<String, byte[]> e : values(peft).entrySet()) {
                boolean changed = !Arrays.equals(before.get(e.getKey()), e.getValue());
                assertEquals(e.getKey().contains(".ia3_l."), changed, e.getKey());
            }
            NDArray adapted = Ia3ModelTest.run(model, m);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, peft::merge);
            assertTrue(e.getMessage().startsWith("cannot merge IA3 into the 4-bit layer bert.encoder.layer.0"),
                    e.getMessage());
            BertForSequenceClassification dense = peft.mergeAndUnloadDense(true);
            for (var mod : dense.namedModules().entrySet()) {
                assertTrue(!(mod.getValue() instanceof Linear4bit) && !(mod.getValue() instanceof Ia3Linear),
                        mod.getKey() + " is " + mod.getValue());
            }
            assertInstanceOf(Linear.class, dense.getModule("bert.encoder.layer.0.output.dense"));
            float diff = Ia3ModelTest.rel(adapted, Ia3ModelTest.run(dense, m));
            assertTrue(diff < 1e-5, "dense export differs by " + diff + " relative");
        }
    }
}
