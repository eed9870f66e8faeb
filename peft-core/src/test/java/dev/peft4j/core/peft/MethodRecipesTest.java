package dev.peft4j.core.peft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * {@link MethodRecipes}: lookup by name and {@code peft_type}, the error for an unknown name, and a
 * recipe's default {@link MethodRecipe#mergeable()} from its method (the toy {@code SCALE} method).
 */
class MethodRecipesTest {

    /** The toy method's recipe: one scale on every {@code dense}, lr 0.5, 2 epochs. */
    static final class ScaleRecipe implements MethodRecipe {
        @Override
        public String name() {
            return "toy-scale";
        }

        @Override
        public String peftType() {
            return ScaleMethod.TYPE;
        }

        @Override
        public PeftConfig defaultConfig(String taskType, List<String> modulesToSave) {
            return new ScaleConfig(List.of("dense"), modulesToSave, taskType, false);
        }

        @Override
        public double learningRate() {
            return 0.5;
        }

        @Override
        public int epochs() {
            return 2;
        }
    }

    @Test
    void registeredRecipeIsFoundByNameAndPeftType() {
        PeftMethods.register(new ScaleMethod());
        ScaleRecipe recipe = new ScaleRecipe();
        MethodRecipes.register(recipe);
        assertSame(recipe, MethodRecipes.forName("toy-scale"));
        assertSame(recipe, MethodRecipes.forName(" TOY_SCALE "));
        assertSame(recipe, MethodRecipes.forName("scale"));
        assertTrue(MethodRecipes.names().contains("toy-scale"), MethodRecipes.names().toString());
        assertEquals(MethodRecipes.names(), MethodRecipes.all().stream().map(MethodRecipe::name).toList());
        assertEquals("toy-scale", recipe.displayName());
        assertFalse(recipe.mergeable(), "SCALE adapters do not merge");
        PeftConfig c = recipe.defaultConfig("SEQ_CLS", List.of("classifier"));
        assertEquals(ScaleMethod.TYPE, c.peftType());
        assertEquals(List.of("classifier"), c.modulesToSave());
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        MethodRecipes.register(new ScaleRecipe());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MethodRecipes.forName("adalora"));
        assertEquals("unknown method 'adalora' (known: " + String.join(", ", MethodRecipes.names())
                + "; a method's recipe is found through META-INF/services/dev.peft4j.core.peft.MethodRecipe or"
                + " MethodRecipes.register)", e.getMessage());
        assertTrue(e.getMessage().contains("toy-scale"), e.getMessage());
    }

    @Test
    void abstractRecipeHoldsTheFactsAndNormalizesModulesToSave() {
        AbstractMethodRecipe r = new AbstractMethodRecipe("toy-abstract", ScaleMethod.TYPE, "toy", 0.25, 4) {
            @Override
            protected PeftConfig config(String taskType, List<String> modulesToSave) {
                return new ScaleConfig(List.of("dense"), modulesToSave, taskType, false);
            }
        };
        assertEquals(List.of("toy-abstract", ScaleMethod.TYPE, "toy"), List.of(r.name(), r.peftType(),
                r.displayName()));
        assertEquals(0.25, r.learningRate());
        assertEquals(4, r.epochs());
        assertEquals(null, r.defaultConfig("SEQ_CLS", List.of()).modulesToSave(), "empty means none");
        assertEquals(null, r.defaultConfig("SEQ_CLS", null).modulesToSave());
        assertEquals(List.of("classifier"), r.defaultConfig("SEQ_CLS", List.of("classifier")).modulesToSave());
        assertEquals("bad: learning rate and epochs must be positive, got 0.0 and 3",
                assertThrows(IllegalArgumentException.class, () -> new AbstractMethodRecipe("bad", "X", "bad", 0, 3) {
                    @Override
                    protected PeftConfig config(String taskType, List<String> modulesToSave) {
                        return null;
                    }
                }).getMessage());
    }
}
