package dev.peft4j.core.peft;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The known {@linkplain MethodRecipe method recipes} by name: those on the class path ({@link
 * ServiceLoader}, {@code META-INF/services/dev.peft4j.core.peft.MethodRecipe}; peft-lora and
 * peft-tuners register theirs) and those {@linkplain #register registered} explicitly. Thread-safe.
 */
public final class MethodRecipes {

    private static final Map<String, MethodRecipe> RECIPES = new TreeMap<>();
    private static boolean discovered;

    private MethodRecipes() {}

    /**
     * Registers a recipe, replacing one of the same name.
     *
     * @param recipe the recipe
     */
    public static synchronized void register(MethodRecipe recipe) {
        Objects.requireNonNull(recipe, "recipe");
        discover();
        RECIPES.put(key(Objects.requireNonNull(recipe.name(), "name")), recipe);
    }

    /**
     * @param name a method's name ({@code prefix-tuning}) or its {@code peft_type} ({@code
     *     PREFIX_TUNING}), case-insensitive, {@code _} and {@code -} alike
     * @return its recipe
     * @throws IllegalArgumentException naming the value and the known names when it is unknown
     */
    public static synchronized MethodRecipe forName(String name) {
        discover();
        String k = key(name == null ? "" : name);
        MethodRecipe r = RECIPES.get(k);
        if (r == null) {
            r = RECIPES.values().stream().filter(x -> key(x.peftType()).equals(k)).findFirst().orElse(null);
        }
        if (r == null) {
            throw new IllegalArgumentException("unknown method '" + name + "' (known: " + String.join(", ", names())
                    + "; a method's recipe is found through META-INF/services/" + MethodRecipe.class.getName()
                    + " or MethodRecipes.register)");
        }
        return r;
    }

    /** @return the known recipes, sorted by name */
    public static synchronized List<MethodRecipe> all() {
        discover();
        return List.copyOf(RECIPES.values());
    }

    /** @return the known names, sorted */
    public static synchronized List<String> names() {
        discover();
        return RECIPES.values().stream().map(MethodRecipe::name).toList();
    }

    private static String key(String name) {
        return name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static void discover() {
        if (!discovered) {
            discovered = true;
            for (MethodRecipe r : ServiceLoader.load(MethodRecipe.class, MethodRecipes.class.getClassLoader())) {
                RECIPES.putIfAbsent(key(r.name()), r);
            }
        }
    }
}
