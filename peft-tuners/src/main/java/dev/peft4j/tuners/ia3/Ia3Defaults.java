package dev.peft4j.tuners.ia3;

import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.model.llama.LlamaModel;
import dev.peft4j.core.nn.Module;

import java.util.List;
import java.util.Map;

/**
 * PEFT's default IA³ targets per {@code model_type} ({@code
 * TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING} and {@code ..._FEEDFORWARD_MODULES_MAPPING},
 * PEFT 0.20 {@code utils/constants.py}), for the families peft4j implements and their close
 * relatives: BERT/RoBERTa {@code key, value, output.dense} with {@code output.dense} feed-forward
 * (which, matched without a dot boundary, also takes {@code attention.output.dense}); Llama/Mistral
 * {@code k_proj, v_proj, down_proj}; Qwen2 (and Gemma, Qwen3) {@code q_proj, v_proj, down_proj};
 * {@code down_proj} feed-forward.
 */
public final class Ia3Defaults {

    /** {@code model_type} → default {@code target_modules}. */
    public static final Map<String, List<String>> TARGET_MODULES = Map.of(
            "bert", List.of("key", "value", "output.dense"),
            "roberta", List.of("key", "value", "output.dense"),
            "llama", List.of("k_proj", "v_proj", "down_proj"),
            "mistral", List.of("k_proj", "v_proj", "down_proj"),
            "qwen2", List.of("q_proj", "v_proj", "down_proj"),
            "qwen3", List.of("q_proj", "v_proj", "down_proj"),
            "gemma", List.of("q_proj", "v_proj", "down_proj"));

    /** {@code model_type} → default {@code feedforward_modules}. */
    public static final Map<String, List<String>> FEEDFORWARD_MODULES = Map.of(
            "bert", List.of("output.dense"),
            "roberta", List.of("output.dense"),
            "llama", List.of("down_proj"),
            "mistral", List.of("down_proj"),
            "qwen2", List.of("down_proj"),
            "qwen3", List.of("down_proj"),
            "gemma", List.of("down_proj"));

    private Ia3Defaults() {}

    /**
     * @param base a model
     * @return its {@code model_type} ({@code bert} for peft4j's BERT models, the config's for the
     *     Llama family, found on the root or the first such model inside it), or null when unknown
     */
    public static String modelType(Module base) {
        for (Module m : base.namedModules().values()) {
            if (m instanceof BertModel || m instanceof BertForSequenceClassification) {
                return "bert";
            }
            if (m instanceof LlamaForCausalLM l) {
                return l.config().modelType();
            }
            if (m instanceof LlamaModel l) {
                return l.config().modelType();
            }
        }
        return null;
    }

    /**
     * Fills a null {@code target_modules} or {@code feedforward_modules} from the family's
     * defaults, as PEFT's {@code _prepare_adapter_config}; a default {@code feedforward_modules}
     * next to a user's list of targets keeps only the names that are targets.
     *
     * @param base the model the adapter is for
     * @param config the configuration
     * @return the configuration with both filled
     * @throws IllegalArgumentException naming the field when it is null and the model type has no default
     */
    public static Ia3Config resolve(Module base, Ia3Config config) {
        if (config.targetModules() != null && config.feedforwardModules() != null) {
            return config;
        }
        String type = modelType(base);
        Ia3Config.Builder b = config.toBuilder();
        if (config.targetModules() == null) {
            List<String> t = type == null ? null : TARGET_MODULES.get(type);
            if (t == null) {
                throw new IllegalArgumentException("target_modules is required: " + base.getClass().getSimpleName()
                        + " (model_type " + type + ") has no IA3 default; defaults exist for " + TARGET_MODULES.keySet());
            }
            b.setTargetModules(TargetModules.of(t));
        }
        if (config.feedforwardModules() == null) {
            List<String> f = type == null ? null : FEEDFORWARD_MODULES.get(type);
            if (f == null) {
                throw new IllegalArgumentException("feedforward_modules is required: " + base.getClass().getSimpleName()
                        + " (model_type " + type + ") has no IA3 default; give an empty list for none");
            }
            TargetModules targets = config.targetModules();
            if (targets != null && targets.isList()) {
                // PEFT fills the family's list even when it names no target, and then refuses to read
                // its own file (not a subset); keep the names that are targets
                f = f.stream().filter(targets.names()::contains).toList();
            }
            b.setFeedforwardModules(FeedforwardModules.of(f));
        }
        return b.build();
    }
}
