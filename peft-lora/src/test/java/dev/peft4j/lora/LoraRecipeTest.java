package dev.peft4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.peft4j.core.peft.MethodRecipe;
import dev.peft4j.core.peft.MethodRecipes;
import dev.peft4j.core.train.TrainingArguments;
import dev.peft4j.core.train.TrainingDefaults;
import org.junit.jupiter.api.Test;

import java.util.List;

/** {@link LoraRecipe}: registered through the service loader, with the tuned defaults kept. */
class LoraRecipeTest {

    @Test
    void foundByNameWithTheTunedDefaults() {
        MethodRecipe recipe = MethodRecipes.forName("lora");
        assertInstanceOf(LoraRecipe.class, recipe);
        assertEquals(recipe, MethodRecipes.forName("LORA"));
        assertEquals("LoRA", recipe.displayName());
        assertTrue(recipe.mergeable());
        assertEquals(1e-3, recipe.learningRate());
        assertEquals(TrainingDefaults.LEARNING_RATE, recipe.learningRate());
        assertEquals(3, recipe.epochs());
        LoraConfig lora = assertInstanceOf(LoraConfig.class, recipe.defaultConfig("SEQ_CLS", List.of()));
        assertEquals(8, lora.r());
        assertEquals(16, lora.loraAlpha());
        assertEquals(0.1, lora.loraDropout());
        assertEquals("SEQ_CLS", lora.taskType());
        assertNull(lora.modulesToSave());
        assertEquals(List.of("q_proj", "v_proj"), LoraRecipe.targets("CAUSAL_LM"));
        assertEquals(List.of("query", "value"), LoraRecipe.targets("SEQ_CLS"));
    }

    @Test
    void javadocUsage() {
        // MethodRecipe's javadoc
        MethodRecipe recipe = MethodRecipes.forName("lora");
        LoraConfig config = (LoraConfig) recipe.defaultConfig("SEQ_CLS", List.of("classifier"));
        TrainingArguments args = TrainingArguments.builder().optLearningRate(recipe.learningRate())
                .optEpochs(recipe.epochs()).build();
        assertEquals(List.of("classifier"), config.modulesToSave());
        assertEquals(1e-3, args.learningRate());
        assertEquals(3, args.epochs());
        // LoraRecipe's javadoc
        LoraConfig r16 = LoraRecipe.builder("SEQ_CLS").optR(16).build();
        assertEquals(16, r16.r());
        assertEquals(16, r16.loraAlpha());
    }
}
