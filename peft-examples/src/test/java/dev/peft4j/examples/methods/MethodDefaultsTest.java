package dev.peft4j.examples.methods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.train.TrainingDefaults;
import dev.peft4j.lora.LoraConfig;
import dev.peft4j.tuners.bitfit.BitFitConfig;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.ia3.Ia3Config;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PromptEncoderConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningInit;
import org.junit.jupiter.api.Test;

import java.util.List;

/** {@link MethodDefaults}: the javadoc's usage, every method's config type and the LoRA values kept. */
class MethodDefaultsTest {

    @Test
    void javadocUsage() {
        PeftConfig config = MethodDefaults.config(TuningMethod.PROMPT_TUNING, "SEQ_CLS", List.of("classifier"));
        MethodDefaults.Training budget = MethodDefaults.training(TuningMethod.PROMPT_TUNING);
        PrefixTuningConfig prefix = MethodDefaults.prefixTuning("CAUSAL_LM").setNumVirtualTokens(10).build();
        PromptTuningConfig prompt = assertInstanceOf(PromptTuningConfig.class, config);
        assertEquals(20, prompt.numVirtualTokens());
        assertEquals(PromptTuningInit.RANDOM, prompt.promptTuningInit());
        assertEquals(List.of("classifier"), prompt.modulesToSave());
        assertEquals(new MethodDefaults.Training(3e-2, 3), budget);
        assertEquals(10, prefix.numVirtualTokens());
        assertEquals("CAUSAL_LM", prefix.taskType());
    }

    @Test
    void loraKeepsTheTunedDefaults() {
        assertEquals(new MethodDefaults.Training(TrainingDefaults.LEARNING_RATE, TrainingDefaults.EPOCHS),
                MethodDefaults.training(TuningMethod.LORA));
        LoraConfig lora = (LoraConfig) MethodDefaults.config(TuningMethod.LORA, "SEQ_CLS", List.of());
        assertEquals(8, lora.r());
        assertEquals(16, lora.loraAlpha());
        assertEquals(0.1, lora.loraDropout());
        assertNull(lora.modulesToSave());
        assertEquals(List.of("q_proj", "v_proj"), MethodDefaults.loraTargets("CAUSAL_LM"));
        assertEquals(List.of("query", "value"), MethodDefaults.loraTargets("SEQ_CLS"));
    }

    @Test
    void everyMethodHasAConfigOfItsPeftType() {
        List<Class<?>> types = List.of(LoraConfig.class, Ia3Config.class, PromptTuningConfig.class,
                PromptEncoderConfig.class, PrefixTuningConfig.class, BottleneckConfig.class, BitFitConfig.class);
        for (TuningMethod m : TuningMethod.values()) {
            PeftConfig c = MethodDefaults.config(m, "SEQ_CLS", List.of("classifier"));
            assertInstanceOf(types.get(m.ordinal()), c, m.cliName());
            assertEquals(m.peftType(), c.peftType());
            assertEquals(m, TuningMethod.parse(m.cliName()));
            assertEquals(m, TuningMethod.parse(m.peftType()));
        }
        assertEquals(16, ((BottleneckConfig) MethodDefaults.config(TuningMethod.BOTTLENECK, "SEQ_CLS", null))
                .reductionFactor().intValue());
    }

    @Test
    void namesAndBiasTerms() {
        assertEquals("unknown method 'adalora' (expected lora|ia3|prompt-tuning|p-tuning|prefix-tuning|bottleneck|"
                + "bitfit)", assertThrows(IllegalArgumentException.class, () -> TuningMethod.parse("adalora"))
                .getMessage());
        assertEquals(BottleneckPreset.DOUBLE_SEQ_BN, BottleneckPreset.parse("houlsby"));
        assertEquals(BottleneckPreset.PAR_BN, BottleneckPreset.parse("par_bn"));
        assertEquals("unknown bottleneck preset 'lora' (expected seq-bn|double-seq-bn|par-bn)",
                assertThrows(IllegalArgumentException.class, () -> BottleneckPreset.parse("lora")).getMessage());
        assertNull(MethodDefaults.biasTerms("all"));
        assertEquals(BitFitConfig.QUERY_AND_INTERMEDIATE, MethodDefaults.biasTerms("query-intermediate"));
        assertEquals(List.of("query", "key"), MethodDefaults.biasTerms("query, key"));
        assertThrows(IllegalArgumentException.class, () -> MethodDefaults.biasTerms("query,,key"));
    }
}
