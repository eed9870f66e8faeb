package dev.peft4j.quant.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.quant.QuantType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/** Quantize-on-load through the BERT family's loaders (the built-in MiniLM). */
class QuantizedBertTest {

    private static final QuantizationConfig NF4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).build();

    @Test
    void encoderQuantizedWhileLoadingEqualsQuantizedAfterLoading() throws IOException {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        HfConfig hf = HfConfig.of(builtin.config(), builtin.id());
        try (NDManager m = NDManager.newBaseManager(); TensorSource w = builtin.openWeights()) {
            QuantizedLoader.Quantizing streaming = QuantizedLoader.quantizing(NF4);
            BertModel onLoad = BertModel.load(w, hf, m, streaming);
            BertModel after = BertModel.load(w, hf, m);
            List<String> replaced = Quantizer.quantizeModules(after, NF4);
            assertEquals(37, replaced.size(), "6 layers x 6 linear layers + the pooler");
            for (String path : replaced) {
                assertInstanceOf(Linear4bit.class, onLoad.getModule(path), path);
            }

            QuantizedLoadReport report = streaming.lastReport().orElseThrow();
            System.out.println("MiniLM quantize-on-load: " + report.summary());
            assertEquals(37, report.quantized());
            assertTrue(report.peakWithinBudget(), report.summary());

            NDArray ids = m.create(new long[] {101, 7592, 2088, 2003, 2307, 102}, new Shape(1, 6));
            NDArray mask = m.ones(ids.getShape());
            ParameterStore ps = new ParameterStore(m, false);
            assertArrayEquals(after.forward(ps, ids, mask, null, false).lastHiddenState().toFloatArray(),
                    onLoad.forward(ps, ids, mask, null, false).lastHiddenState().toFloatArray());
        }
    }

    @Test
    void classifierKeepsItsFreshHeadInFullPrecision() throws IOException {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        try (NDManager m = NDManager.newBaseManager(); TensorSource w = builtin.openWeights()) {
            BertForSequenceClassification cls = BertForSequenceClassification.loader()
                    .setCheckpoint(w, HfConfig.of(builtin.config(), builtin.id())).setManager(m)
                    .optLabels(List.of("a", "b")).optPooling(Pooling.MEAN)
                    .optWeightLoader(QuantizedLoader.quantizing(NF4)).load();
            assertInstanceOf(Linear4bit.class, cls.getModule("bert.encoder.layer.5.output.dense"));
            assertInstanceOf(Linear.class, cls.getModule("classifier"));
            assertTrue(cls.getModule("classifier").parameter("weight").isInitialized(), "fresh head initialized");
            assertEquals(List.of("classifier.weight", "classifier.bias"), cls.loadReport().missing());
        }
    }

    @Test
    void classifierSavedQuantizedLoadsAsSaved(@TempDir Path tmp) throws IOException {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        HfConfig hf = HfConfig.of(builtin.config(), builtin.id());
        QuantizationConfig fp4 = QuantizationConfig.builder().setQuantType(QuantType.FP4).optBlocksize(128).build();
        try (NDManager m = NDManager.newBaseManager(); TensorSource w = builtin.openWeights()) {
            BertForSequenceClassification cls = BertForSequenceClassification.loader().setCheckpoint(w, hf)
                    .setManager(m).optLabels(List.of("a", "b")).optPooling(Pooling.CLS)
                    .optWeightLoader(QuantizedLoader.quantizing(fp4)).load();
            Path dir = tmp.resolve("cls-fp4");
            QuantizedSaver.saveModelDir(cls, hf.json(), fp4, dir, Function.identity());

            HfConfig saved = HfConfig.read(dir);
            QuantizedLoader.Quantizing asSaved = QuantizedLoader.quantizing(
                    HfQuantizationConfig.read(saved.json(), saved.source()));
            BertForSequenceClassification back = BertForSequenceClassification.loader().setModelDir(dir)
                    .setManager(m).optLabels(List.of("a", "b")).optPooling(Pooling.CLS).optWeightLoader(asSaved).load();
            QuantizedLoadReport report = asSaved.lastReport().orElseThrow();
            assertEquals(0, report.quantized(), "nothing re-quantized");
            assertEquals(36, report.prequantized(), "6 layers x 6; no pooler with CLS pooling");
            assertEquals(List.of(), back.loadReport().missing(), "the trained head came from the directory");
            assertEquals(128, ((Linear4bit) back.getModule("bert.encoder.layer.0.attention.self.query"))
                    .quantState().blocksize());

            NDArray ids = m.create(new long[] {101, 7592, 2088, 102}, new Shape(1, 4));
            NDArray mask = m.ones(ids.getShape());
            ParameterStore ps = new ParameterStore(m, false);
            assertArrayEquals(cls.forward(ps, ids, mask, null, false).toFloatArray(),
                    back.forward(ps, ids, mask, null, false).toFloatArray());
        }
    }
}
