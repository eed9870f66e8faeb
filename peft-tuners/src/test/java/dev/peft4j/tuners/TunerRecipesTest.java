package dev.peft4j.tuners;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.peft.MethodRecipes;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.tuners.bitfit.BitFitConfig;
import dev.peft4j.tuners.bitfit.BitFitRecipe;
import dev.peft4j.tuners.bottleneck.BottleneckConfig;
import dev.peft4j.tuners.bottleneck.BottleneckPreset;
import dev.peft4j.tuners.bottleneck.BottleneckRecipe;
import dev.peft4j.tuners.ia3.Ia3Config;
import dev.peft4j.tuners.ia3.Ia3Recipe;
import dev.peft4j.tuners.prompt.PTuningRecipe;
import dev.peft4j.tuners.prompt.PrefixTuningConfig;
import dev.peft4j.tuners.prompt.PrefixTuningRecipe;
import dev.peft4j.tuners.prompt.PromptEncoderConfig;
import dev.peft4j.tuners.prompt.PromptTuningConfig;
import dev.peft4j.tuners.prompt.PromptTuningInit;
import dev.peft4j.tuners.prompt.PromptTuningRecipe;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * The recipes of peft-tuners' six methods: found by name and {@code peft_type} through the service
 * loader, their numbers (learning rate, epochs, configuration), mergeability from the method, and the
 * bottleneck presets and BitFit bias selections by name.
 */
class TunerRecipesTest {

    private record Expected(String name, String peftType, String display, double lr, boolean mergeable,
            Class<? extends PeftConfig> config, Class<? extends MethodRecipe> recipe) {}

    private static final List<Expected> EXPECTED = List.of(
            new Expected("ia3", "IA3", "IA³", 1e-2, true, Ia3Config.class, Ia3Recipe.class),
            new Expected("prompt-tuning", "PROMPT_TUNING", "prompt tuning", 3e-2, false, PromptTuningConfig.class,
                    PromptTuningRecipe.class),
            new Expected("p-tuning", "P_TUNING", "P-tuning", 1e-2, false, PromptEncoderConfig.class,
                    PTuningRecipe.class),
            new Expected("prefix-tuning", "PREFIX_TUNING", "prefix tuning", 1e-2, false, PrefixTuningConfig.class,
                    PrefixTuningRecipe.class),
            new Expected("bottleneck", "BOTTLENECK", "bottleneck adapters", 2e-3, false, BottleneckConfig.class,
                    BottleneckRecipe.class),
            new Expected("bitfit", "BITFIT", "BitFit", 5e-3, true, BitFitConfig.class, BitFitRecipe.class));

    @Test
    void everyRecipeIsFoundWithItsNumbers() {
        for (Expected e : EXPECTED) {
            MethodRecipe r = MethodRecipes.forName(e.name());
            assertInstanceOf(e.recipe(), r, e.name());
            assertEquals(r, MethodRecipes.forName(e.peftType()), e.name());
            assertEquals(e.name(), r.name());
            assertEquals(e.peftType(), r.peftType());
            assertEquals(e.display(), r.displayName());
            assertEquals(e.lr(), r.learningRate(), e.name());
            assertEquals(3, r.epochs(), e.name());
            assertEquals(e.mergeable(), r.mergeable(), e.name());
            PeftConfig c = r.defaultConfig("SEQ_CLS", List.of("classifier"));
            assertInstanceOf(e.config(), c, e.name());
            assertEquals(e.peftType(), c.peftType());
            assertEquals("SEQ_CLS", c.taskType(), e.name());
            assertEquals(List.of("classifier"), c.modulesToSave(), e.name());
            assertNull(r.defaultConfig("SEQ_CLS", List.of()).modulesToSave(), e.name());
        }
        assertTrue(MethodRecipes.names().containsAll(EXPECTED.stream().map(Expected::name).toList()));
    }

    @Test
    void configurations() {
        PromptTuningConfig prompt = PromptTuningRecipe.builder("SEQ_CLS").build();
        assertEquals(20, prompt.numVirtualTokens());
        assertEquals(PromptTuningInit.RANDOM, prompt.promptTuningInit());
        PromptEncoderConfig p = PTuningRecipe.builder("SEQ_CLS").build();
        assertEquals(20, p.numVirtualTokens());
        assertEquals(128, p.encoderHiddenSize());
        PrefixTuningConfig prefix = PrefixTuningRecipe.builder("CAUSAL_LM").setNumVirtualTokens(10).build();
        assertEquals(10, prefix.numVirtualTokens());
        assertFalse(prefix.prefixProjection());
        assertEquals("CAUSAL_LM", prefix.taskType());
        BottleneckConfig bn = (BottleneckConfig) MethodRecipes.forName("bottleneck").defaultConfig("SEQ_CLS", null);
        assertEquals(16, bn.reductionFactor().intValue());
        assertEquals("relu", bn.nonLinearity());
        assertTrue(bn.outputAdapter());
        assertFalse(bn.mhAdapter());
        assertNull(((BitFitConfig) MethodRecipes.forName("bitfit").defaultConfig("SEQ_CLS", null)).targetModules());
    }

    @Test
    void javadocUsage() {
        // MethodRecipe's javadoc
        MethodRecipe recipe = MethodRecipes.forName("prompt-tuning");
        PeftConfig config = recipe.defaultConfig("SEQ_CLS", List.of("classifier"));
        TrainingArguments args = TrainingArguments.builder().optLearningRate(recipe.learningRate())
                .optEpochs(recipe.epochs()).build();
        assertInstanceOf(PromptTuningConfig.class, config);
        assertEquals(3e-2, args.learningRate());
        assertEquals(3, args.epochs());
    }

    @Test
    void presetsAndBiasTermsByName() {
        assertEquals(BottleneckPreset.SEQ_BN, BottleneckPreset.parse("pfeiffer"));
        assertEquals(BottleneckPreset.DOUBLE_SEQ_BN, BottleneckPreset.parse("houlsby"));
        assertEquals(BottleneckPreset.PAR_BN, BottleneckPreset.parse("par_bn"));
        assertEquals("unknown bottleneck preset 'lora' (expected seq-bn|double-seq-bn|par-bn)",
                assertThrows(IllegalArgumentException.class, () -> BottleneckPreset.parse("lora")).getMessage());
        assertNull(BitFitRecipe.biasTerms("all"));
        assertEquals(BitFitConfig.QUERY_AND_INTERMEDIATE, BitFitRecipe.biasTerms("query-intermediate"));
        assertEquals(List.of("query", "key"), BitFitRecipe.biasTerms("query, key"));
        assertEquals("bias terms must be all, query-intermediate or module names, got 'query,,key'",
                assertThrows(IllegalArgumentException.class, () -> BitFitRecipe.biasTerms("query,,key"))
                        .getMessage());
    }
}
