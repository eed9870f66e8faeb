package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.AdapterFiles;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.quant.QuantType;
import dev.peft4j.quant.nn.Linear4bit;
import dev.peft4j.quant.nn.QuantizationConfig;
import dev.peft4j.quant.nn.Quantizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA over 4-bit bases (QLoRA): exactness of a fresh adapter, training, and the dense export. */
class QloraTest {

    private static final int D = 48;

    /** TinyNet with query and value in NF4 (the classifier stays full precision, as by default). */
    private static TinyNet quantizedNet(NDManager m) {
        TinyNet net = TinyNet.create(D, m, 3);
        List<String> q = Quantizer.quantizeModules(net,
                QuantizationConfig.builder().setQuantType(QuantType.NF4).build());
        assertEquals(4, q.size(), q.toString());
        return net;
    }

    private static LoraConfig config(LoraInit init) {
        return LoraConfig.builder().setTargetModules("query", "value").optR(4).optLoraAlpha(8)
                .optInitLoraWeights(init).build();
    }

    @Test
    void freshAdapterEqualsTheDequantizedBaseExactly() {
        try (NDManager m = NDManager.newBaseManager()) {
            TinyNet net = quantizedNet(m);
            NDArray x = TinyNet.input(m, 5, D, 1);
            NDArray base = TinyNet.run(net, x, false);
            PeftModel<?> peft = PeftModel.wrap(net, config(LoraInit.DEFAULT), m, 7L);
            assertTrue(base.contentEquals(TinyNet.run(peft, x, false)));

            TinyNet dense = quantizedNet(m);
            Quantizer.dequantizeModules(dense, DataType.FLOAT32);
            assertTrue(base.contentEquals(TinyNet.run(dense, x, false)), "the 4-bit model is its dequantized model");
        }
    }

    @Test
    void gradientsReachTheAdaptersNotThePackedWeights() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L);
            NDArray x = TinyNet.input(m, 5, D, 1);
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                gc.backward(TinyNet.run(peft, x, true).square().sum());
            }
            LoraLinear q = LoraAdapters.loraLayers(peft).get("layer.1.attention.query");
            assertInstanceOf(Linear4bit.class, q.baseLayer());
            NDArray gradA = q.child("lora_A").child("default").parameter("weight").getArray().getGradient();
            assertTrue(gradA.abs().sum().getFloat() > 0, "lora_A gets a gradient");
            assertTrue(((Module) q.baseLayer()).parameter("weight").getArray().getDataType() == DataType.UINT8);
            assertTrue(!((Module) q.baseLayer()).parameter("weight").requiresGradient(), "packed weight frozen");
        }
    }

    @Test
    void denseMergeComputesWhatTheAdaptedModelComputes() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = TinyNet.input(m, 5, D, 1);
            PeftModel<?> peft = PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L);
            NDArray adapted = TinyNet.run(peft, x, false);
            Module dense = peft.mergeAndUnloadDense(true);
            for (var e : dense.namedModules().entrySet()) {
                assertTrue(!(e.getValue() instanceof Linear4bit) && !(e.getValue() instanceof LoraLinear),
                        e.getKey() + " is " + e.getValue());
            }
            assertInstanceOf(Linear.class, dense.getModule("layer.0.attention.value"));
            float scale = adapted.abs().max().getFloat();
            float denseError = adapted.sub(TinyNet.run(dense, x, false)).abs().max().getFloat() / scale;
            assertTrue(denseError < 1e-6, "dense merge differs by " + denseError + " relative");
            assertThrows(IllegalStateException.class, peft::mergeAndUnloadDense);

            // Merging into the 4-bit weights re-quantizes: the rounding shows.
            PeftModel<?> again = PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L);
            assertTrue(adapted.contentEquals(TinyNet.run(again, x, false)), "same seed, same adapter");
            Module requantized = again.mergeAndUnload();
            assertInstanceOf(Linear4bit.class, requantized.getModule("layer.0.attention.value"));
            float requantError = adapted.sub(TinyNet.run(requantized, x, false)).abs().max().getFloat() / scale;
            System.out.printf("QLoRA merge, relative max error: dense %.2e, re-quantized %.2e%n", denseError,
                    requantError);
            assertTrue(requantError > 100 * Math.max(denseError, 1e-8f),
                    "re-quantized " + requantError + " vs dense " + denseError);
        }
    }

    @Test
    void denseMergeInFloat16RoundsTheMergedWeightOnce() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> f32 = PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L);
            PeftModel<?> f16 = PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L);
            Module a = f32.mergeAndUnloadDense(false, DataType.FLOAT32);
            Module b = f16.mergeAndUnloadDense(false, DataType.FLOAT16);
            NDArray w32 = a.getModule("layer.1.attention.query").parameter("weight").getArray();
            NDArray w16 = b.getModule("layer.1.attention.query").parameter("weight").getArray();
            assertEquals(DataType.FLOAT16, w16.getDataType());
            assertEquals(DataType.FLOAT32, b.getModule("classifier").parameter("weight").getArray().getDataType());
            assertTrue(w32.toType(DataType.FLOAT16, false).contentEquals(w16), "F32 merge rounded to F16 once");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L)
                            .mergeAndUnloadDense(false, DataType.INT8));
            assertEquals("a dense merge is FLOAT32 or FLOAT16, got int8", e.getMessage());
        }
    }

    @Test
    void savedAdapterRecordsTheBaseQuantization(@TempDir Path dir) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> qlora = PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L);
            qlora.save(dir.resolve("q"));
            try (TensorSource src = TensorSources.open(dir.resolve("q/adapter_model.safetensors"))) {
                assertEquals("nf4, blocksize 64, double quant", src.metadata().get(AdapterFiles.BASE_QUANTIZATION_KEY));
            }
            PeftModel<?> lora = PeftModel.wrap(TinyNet.create(D, m, 3), config(LoraInit.RANDOM), m, 7L);
            lora.save(dir.resolve("f"));
            try (TensorSource src = TensorSources.open(dir.resolve("f/adapter_model.safetensors"))) {
                assertNull(src.metadata().get(AdapterFiles.BASE_QUANTIZATION_KEY));
            }
            Optional<String> nf4 = Optional.of("nf4, blocksize 64, double quant");
            assertNull(AdapterFiles.quantizationMismatch("nf4, blocksize 64, double quant", nf4));
            assertNull(AdapterFiles.quantizationMismatch(null, nf4), "unknown: saved by PEFT");
            assertNull(AdapterFiles.quantizationMismatch(null, Optional.empty()));
            assertEquals("the adapter was trained over a 4-bit (nf4, blocksize 64, double quant) base but is loaded"
                    + " onto a full-precision one, so its outputs differ from training; quantize the base the same"
                    + " way (on the command line: --quantize nf4, with --blocksize/--no-double-quant as in"
                    + " training)", AdapterFiles.quantizationMismatch(nf4.get(), Optional.empty()));
            assertTrue(AdapterFiles.quantizationMismatch(nf4.get(), Optional.of("fp4, blocksize 64, double quant"))
                    .contains("loaded onto a 4-bit (fp4, blocksize 64, double quant) one"));
            // the loaded QLoRA adapter over the same NF4 base reproduces the trained outputs
            NDArray x = TinyNet.input(m, 5, D, 1);
            PeftModel<?> back = PeftModel.load(quantizedNet(m), dir.resolve("q"), m);
            assertTrue(TinyNet.run(qlora, x, false).contentEquals(TinyNet.run(back, x, false)));
        }
    }

    @Test
    void denseMergeOfAFullPrecisionBaseIsMergeAndUnload() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = TinyNet.input(m, 5, D, 1);
            Module a = PeftModel.wrap(TinyNet.create(D, m, 3), config(LoraInit.RANDOM), m, 7L).mergeAndUnload();
            Module b = PeftModel.wrap(TinyNet.create(D, m, 3), config(LoraInit.RANDOM), m, 7L).mergeAndUnloadDense();
            assertTrue(TinyNet.run(a, x, false).contentEquals(TinyNet.run(b, x, false)));
        }
    }

    @Test
    void theBaseLayerCanBeSwappedOnlyForALinearOfItsShape() {
        try (NDManager m = NDManager.newBaseManager()) {
            PeftModel<?> peft = PeftModel.wrap(quantizedNet(m), config(LoraInit.RANDOM), m, 7L);
            LoraLinear q = LoraAdapters.loraLayers(peft).get("layer.0.attention.query");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> q.replaceChild("base_layer", new Linear(D, D + 1, true)));
            assertEquals("the base layer of layer.0.attention.query must stay a linear layer 48 -> 48, got"
                    + " Linear(in=48, out=49, bias=true)", e.getMessage());
            Linear copy = Linear.copyOf(q.baseLayer(), DataType.FLOAT32, m);
            q.replaceChild("base_layer", copy);
            assertEquals(copy, q.baseLayer());
            assertNotNull(peft.namedParameters().get("base_model.model.layer.0.attention.query.base_layer.weight"));
        }
    }
}
