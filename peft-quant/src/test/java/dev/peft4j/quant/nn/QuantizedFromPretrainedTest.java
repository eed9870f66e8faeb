package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.LlamaConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.testing.Fixtures;
import dev.peft4j.quant.QuantType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * peft-core's {@code fromPretrained} with peft-quant: quantize-on-load through the options' weight
 * loader, and a directory saved 4-bit found by the {@link SavedQuantizedLoaders} service and
 * loaded as saved.
 */
class QuantizedFromPretrainedTest {

    private static final long[] IDS = {1, 17, 42, 99, 5};

    @Test
    void quantizeOnLoadAndSavedFourBitDirectories(@TempDir Path tmp) throws Exception {
        Path fixture = Fixtures.fixture("tiny-causal-lm", "qwen2-f32-sharded");
        QuantizationConfig nf4 = QuantizationConfig.builder().setQuantType(QuantType.NF4).build();
        float[] manual;
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaForCausalLM q = new LlamaForCausalLM(LlamaConfig.read(fixture));
            Quantizer.quantizeModules(q, nf4);
            try (TensorSource src = TensorSources.open(fixture)) {
                QuantizedLoader.builder().setSource(src).setManager(m).optIgnore(LlamaForCausalLM.IGNORED)
                        .build().load(q);
            }
            manual = logits(q, m);
        }
        Path saved = tmp.resolve("nf4");
        List<long[]> prompts = List.of(new long[] {1, 5, 77}, new long[] {9});
        GenerationConfig greedy = GenerationConfig.builder().setMaxNewTokens(5).optEosTokenIds().build();
        List<long[]> generated;
        try (LlamaForCausalLM lm = LlamaForCausalLM.fromPretrained(fixture.toString(),
                PretrainedOptions.builder().optWeightLoader(QuantizedLoader.quantizing(nf4)).build())) {
            assertEquals(14, fourBit(lm));
            assertArrayEquals(manual, logits(lm, lm.assets().owner().orElseThrow()));
            generated = lm.generateIds(prompts, greedy).stream().map(r -> r.tokens()).toList();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> lm.savePretrained(tmp.resolve("dense")));
            assertEquals("cannot save parameter 'model.layers.0.self_attn.q_proj.weight' of type uint8 as float32:"
                    + " the model has 4-bit layers; dequantize them first (PeftModel.mergeAndUnloadDense)",
                    e.getMessage());
            assertFalse(Files.exists(tmp.resolve("dense")));
            QuantizedSaver.saveModelDir(lm, HfConfig.read(fixture).json(), nf4, saved, Function.identity());
        }
        // no options: the service finds quantization_config and loads the 4-bit tensors as saved
        try (LlamaForCausalLM back = LlamaForCausalLM.fromPretrained(saved.toString())) {
            assertEquals(14, fourBit(back));
            assertArrayEquals(manual, logits(back, back.assets().owner().orElseThrow()));
            List<long[]> again = back.generateIds(prompts, greedy).stream().map(r -> r.tokens()).toList();
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(generated.get(i), again.get(i), "prompt " + i);
            }
        }
        // a fixed quantizing loader: the saved layout still wins
        QuantizationConfig fp4 = QuantizationConfig.builder().setQuantType(QuantType.FP4).build();
        try (LlamaForCausalLM back = LlamaForCausalLM.fromPretrained(saved.toString(),
                PretrainedOptions.builder().optWeightLoader(QuantizedLoader.quantizing(fp4)).build())) {
            assertArrayEquals(manual, logits(back, back.assets().owner().orElseThrow()));
        }
    }

    private static long fourBit(Module m) {
        return m.namedModules().values().stream().filter(x -> x instanceof Linear4bit).count();
    }

    private static float[] logits(LlamaForCausalLM lm, NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            return lm.forward(new ParameterStore(m, false), m.create(IDS, new Shape(1, IDS.length)), null, null, null,
                    false).logits().toFloatArray();
        }
    }
}
