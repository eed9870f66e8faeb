package dev.peft4j.tuners.bitfit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.train.TinyClassifier;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.Linear4bit;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.Quantizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BitFit over a 4-bit base: the full-precision biases of the packed layers train; the dense export is exact. */
class BitFitQuantizedTest {

    @Test
    void trainsOverA4bitBaseAndExportsDensely(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            BertForSequenceClassification model = TinyClassifier.create(m);
            assertEquals(6, Quantizer.quantizeModules(model, QuantizationConfig.builder().setQuantType(QuantType.NF4)
                    .optSkipModules(List.of("classifier")).build()).size());
            PeftModel<BertForSequenceClassification> peft = PeftModel.wrap(model,
                    BitFitConfig.builder().optTaskType("SEQ_CLS").build(), m, 1);
            byte[] packed = model.getModule("bert.encoder.layer.0.attention.self.query").parameter("weight")
                    .getArray().toByteArray();
            float[] bias = model.getModule("bert.encoder.layer.0.attention.self.query").parameter("bias")
                    .getArray().toFloatArray();
            BitFitTest.train(peft, dir.resolve("run"));
            assertInstanceOf(Linear4bit.class, model.getModule("bert.encoder.layer.0.attention.self.query"));
            assertTrue(Arrays.equals(packed, model.getModule("bert.encoder.layer.0.attention.self.query")
                    .parameter("weight").getArray().toByteArray()), "the packed weight is frozen");
            assertTrue(!Arrays.equals(bias, model.getModule("bert.encoder.layer.0.attention.self.query")
                    .parameter("bias").getArray().toFloatArray()), "its bias trained");
            NDArray adapted = BitFitTest.run(model, m);
            BertForSequenceClassification dense = peft.mergeAndUnloadDense(true);
            assertInstanceOf(Linear.class, dense.getModule("bert.encoder.layer.0.attention.self.query"));
            assertTrue(adapted.contentEquals(BitFitTest.run(dense, m)), "the dense export computes the same");
        }
    }
}
