package dev.peft4j.lora;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.peft.PeftModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The example of {@link PeftModel}'s javadoc, compiled and run, with the figures it shows. */
class PeftModelJavadocTest {

    private static BertModel minilm(NDManager m) throws Exception {
        BuiltinModel builtin = Builtins.get(Builtins.ALL_MINILM_L6_V2);
        try (TensorSource weights = builtin.openWeights()) {
            return BertModel.load(weights, HfConfig.of(builtin.config(), builtin.id()), m);
        }
    }

    @Test
    void theJavadocExampleRunsAndPrintsItsFigures(@TempDir Path dir) throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            BertModel bert = minilm(manager);
            BertModel freshBert = minilm(manager);
            long baseParams = bert.parameterCount();
            // --- the javadoc example ---
            PeftModel<BertModel> peft = PeftModel.wrap(bert, LoraConfig.builder().setTargetModules("query", "value").build(), manager);
            peft.printTrainableParameters();   // trainable params: 73,728 || all params: 22,786,944 || trainable%: 0.3236
            // ... train peft (a Block: forward runs the adapted base) ...
            peft.save(dir);                    // adapter_config.json + adapter_model.safetensors, as PEFT writes
            BertModel merged = PeftModel.load(freshBert, dir, manager).mergeAndUnload();
            // --- end ---
            // 6 layers x {query, value} x r=8 x (384 in + 384 out)
            long lora = 6L * 2 * 8 * (384 + 384);
            assertEquals(73_728, lora);
            assertEquals(lora, peft.trainableParameters().trainable());
            assertEquals(baseParams + lora, peft.trainableParameters().all());
            assertEquals(String.format(java.util.Locale.ROOT, "trainable params: 73,728 || all params: %,d || trainable%%: %.4f",
                    baseParams + lora, 100.0 * lora / (baseParams + lora)), peft.trainableParameters().toString());
            assertEquals("trainable params: 73,728 || all params: 22,786,944 || trainable%: 0.3236",
                    peft.trainableParameters().toString());
            assertSame(freshBert, merged, "mergeAndUnload gives back the typed base");
            assertFalse(LoraAdapters.loraLayers(peft).isEmpty());
        }
    }
}
