package dev.peft4j.core.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;

import java.util.Objects;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * The typed configuration of a Llama-family causal language model ({@code model_type} {@code
 * llama}, {@code qwen2} or {@code mistral}), read from a Hugging Face {@code config.json} with the
 * same defaults as {@code transformers}.
 *
 * <p>Family differences: Llama's q/k/v/o projections have a bias when {@code attention_bias} is
 * true; Qwen2's q/k/v projections always have one and its o_proj never; Mistral has none. Only
 * {@code hidden_act = silu} is supported.
 *
 * <p>Mistral's (and Qwen2's, when {@code use_sliding_window}) {@code sliding_window} is recorded
 * but not applied: attention is fully causal. The results equal Hugging Face's as long as sequences
 * (prompt plus generated tokens) are no longer than the window; {@link LlamaModel} logs a warning
 * once when a longer sequence is seen.
 */
public final class LlamaConfig {

    /** The supported {@code model_type} values. */
    public static final List<String> TYPES = List.of("llama", "qwen2", "mistral");
    /** The supported {@code architectures} entries. */
    public static final List<String> ARCHITECTURES =
            List.of("LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM");

    private final String source;
    private final String modelType;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final int vocabSize;
    private final double rmsNormEps;
    private final double ropeTheta;
    private final RopeScaling ropeScaling;
    private final int maxPositionEmbeddings;
    private final boolean tieWordEmbeddings;
    private final boolean qkvBias;
    private final boolean outputProjectionBias;
    private final boolean mlpBias;
    private final Integer slidingWindow;
    private final List<Long> eosTokenIds;

    private LlamaConfig(HfConfig cfg) {
        source = cfg.source();
        modelType = cfg.modelType();
        if (!TYPES.contains(modelType)) {
            throw new ConfigException(source + ": unsupported model_type '" + modelType
                    + "' (supported: " + String.join(", ", TYPES) + ")");
        }
        for (String arch : cfg.architectures()) {
            if (!ARCHITECTURES.contains(arch)) {
                throw new ConfigException(source + ": unsupported architecture '" + arch
                        + "' (supported: " + String.join(", ", ARCHITECTURES) + ")");
            }
        }
        String act = cfg.optString("hidden_act", "silu");
        if (!"silu".equals(act)) {
            throw new ConfigException(source + ": hidden_act '" + act
                    + "' is not supported (Llama-family models use 'silu')");
        }
        hiddenSize = positive(cfg, "hidden_size", cfg.getInt("hidden_size"));
        intermediateSize = positive(cfg, "intermediate_size", cfg.getInt("intermediate_size"));
        numHiddenLayers = positive(cfg, "num_hidden_layers", cfg.getInt("num_hidden_layers"));
        numAttentionHeads = positive(cfg, "num_attention_heads", cfg.getInt("num_attention_heads"));
        numKeyValueHeads = positive(cfg, "num_key_value_heads",
                cfg.optInt("num_key_value_heads", numAttentionHeads));
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new ConfigException(source + ": num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        if (!cfg.has("head_dim") && hiddenSize % numAttentionHeads != 0) {
            throw new ConfigException(source + ": hidden_size (" + hiddenSize
                    + ") must be a multiple of num_attention_heads (" + numAttentionHeads
                    + ") when head_dim is not given");
        }
        headDim = positive(cfg, "head_dim", cfg.optInt("head_dim", hiddenSize / numAttentionHeads));
        if (headDim % 2 != 0) {
            throw new ConfigException(source + ": head_dim must be even for rotary embeddings, got " + headDim);
        }
        vocabSize = positive(cfg, "vocab_size", cfg.getInt("vocab_size"));
        rmsNormEps = cfg.optDouble("rms_norm_eps", 1e-6);
        int defaultMaxPositions = switch (modelType) {
            case "qwen2" -> 32768;
            case "mistral" -> 4096 * 32;
            default -> 2048;
        };
        maxPositionEmbeddings = positive(cfg, "max_position_embeddings",
                cfg.optInt("max_position_embeddings", defaultMaxPositions));
        tieWordEmbeddings = cfg.optBoolean("tie_word_embeddings", false);
        mlpBias = "llama".equals(modelType) && cfg.optBoolean("mlp_bias", false);
        switch (modelType) {
            case "qwen2":
                qkvBias = true;
                outputProjectionBias = false;
                slidingWindow = cfg.optBoolean("use_sliding_window", false)
                        ? Integer.valueOf(cfg.optInt("sliding_window", 4096)) : null;
                break;
            case "mistral":
                qkvBias = false;
                outputProjectionBias = false;
                // MistralConfig defaults to 4096 when the key is absent; null disables it.
                slidingWindow = cfg.json().has("sliding_window")
                        ? (cfg.has("sliding_window") ? Integer.valueOf(cfg.getInt("sliding_window")) : null)
                        : Integer.valueOf(4096);
                break;
            default:
                qkvBias = cfg.optBoolean("attention_bias", false);
                outputProjectionBias = qkvBias;
                slidingWindow = null;
                break;
        }
        JsonNode ropeParameters = cfg.get("rope_parameters");
        if (ropeParameters != null && ropeParameters.isObject()) {
            // transformers >= 4.56 / 5 may store theta and scaling together.
            JsonNode theta = ropeParameters.get("rope_theta");
            ropeTheta = theta != null && theta.isNumber() ? theta.doubleValue() : cfg.optDouble("rope_theta", 10000);
            ropeScaling = parseScaling(ropeParameters, "rope_parameters");
        } else {
            ropeTheta = cfg.optDouble("rope_theta", 10000);
            JsonNode scaling = cfg.get("rope_scaling");
            ropeScaling = scaling == null ? RopeScaling.none() : parseScaling(scaling, "rope_scaling");
        }
        if (!(ropeTheta > 0)) {
            throw new ConfigException(source + ": rope_theta must be positive, got " + ropeTheta);
        }
        eosTokenIds = parseEos(cfg);
    }

    /**
     * Reads and validates a configuration.
     *
     * @param config a parsed {@code config.json}
     * @return the typed configuration
     * @throws ConfigException naming the file and the field for an unsupported type or
     *     architecture, a non-silu activation, a missing or malformed field
     */
    public static LlamaConfig from(HfConfig config) {
        Objects.requireNonNull(config, "config");
        return new LlamaConfig(config);
    }

    /**
     * Reads {@code config.json}.
     *
     * @param path the file or the model directory
     * @return the typed configuration
     * @throws ConfigException when the file is missing or the configuration is unsupported
     */
    public static LlamaConfig read(Path path) {
        Objects.requireNonNull(path, "path");
        return from(HfConfig.read(path));
    }

    private RopeScaling parseScaling(JsonNode node, String field) {
        if (!node.isObject()) {
            throw new ConfigException(source + ": " + field + " must be an object or null, got " + node);
        }
        JsonNode t = node.has("rope_type") ? node.get("rope_type") : node.get("type");
        String type = t == null || t.isNull() ? "default" : t.asText().toLowerCase(Locale.ROOT);
        try {
            switch (type) {
                case "default":
                    return RopeScaling.none();
                case "linear":
                    return RopeScaling.linear(number(node, field, "factor"));
                case "llama3":
                    return RopeScaling.llama3(
                            number(node, field, "factor"),
                            number(node, field, "low_freq_factor"),
                            number(node, field, "high_freq_factor"),
                            (int) number(node, field, "original_max_position_embeddings"));
                default:
                    throw new ConfigException(source + ": " + field + " type '" + type
                            + "' is not supported (supported: linear, llama3)");
            }
        } catch (ConfigException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(source + ": " + field + ": " + e.getMessage(), e);
        }
    }

    private double number(JsonNode node, String field, String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            throw new ConfigException(source + ": required field '" + field + "." + key + "' is missing");
        }
        if (!v.isNumber()) {
            throw new ConfigException(source + ": field '" + field + "." + key + "' must be a number, got " + v);
        }
        return v.doubleValue();
    }

    private List<Long> parseEos(HfConfig cfg) {
        JsonNode eos = cfg.get("eos_token_id");
        List<Long> out = new ArrayList<>();
        if (eos == null) {
            return List.of();
        }
        if (eos.isIntegralNumber()) {
            out.add(eos.longValue());
        } else if (eos.isArray()) {
            for (JsonNode e : eos) {
                if (!e.isIntegralNumber()) {
                    throw new ConfigException(source + ": field 'eos_token_id' must hold integers, got " + eos);
                }
                out.add(e.longValue());
            }
        } else {
            throw new ConfigException(source + ": field 'eos_token_id' must be an integer or a list, got " + eos);
        }
        return List.copyOf(out);
    }

    private static int positive(HfConfig cfg, String key, int value) {
        if (value <= 0) {
            throw new ConfigException(cfg.source() + ": field '" + key + "' must be positive, got " + value);
        }
        return value;
    }

    /** @return where the configuration came from */
    public String source() {
        return source;
    }

    /** @return {@code llama}, {@code qwen2} or {@code mistral} */
    public String modelType() {
        return modelType;
    }

    /** @return the width of the residual stream */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** @return the width of the MLP's hidden layer */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** @return the number of decoder layers */
    public int numHiddenLayers() {
        return numHiddenLayers;
    }

    /** @return the number of query heads */
    public int numAttentionHeads() {
        return numAttentionHeads;
    }

    /** @return the number of key/value heads (grouped-query attention when fewer than query heads) */
    public int numKeyValueHeads() {
        return numKeyValueHeads;
    }

    /** @return the width of one attention head */
    public int headDim() {
        return headDim;
    }

    /** @return the vocabulary size */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return the RMSNorm epsilon */
    public double rmsNormEps() {
        return rmsNormEps;
    }

    /** @return the rotary base */
    public double ropeTheta() {
        return ropeTheta;
    }

    /** @return the rotary scaling ({@link RopeScaling#none()} when absent) */
    public RopeScaling ropeScaling() {
        return ropeScaling;
    }

    /** @return the context length the model was configured for */
    public int maxPositionEmbeddings() {
        return maxPositionEmbeddings;
    }

    /** @return whether {@code lm_head.weight} is {@code model.embed_tokens.weight} */
    public boolean tieWordEmbeddings() {
        return tieWordEmbeddings;
    }

    /** @return whether q_proj, k_proj and v_proj have a bias */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** @return whether o_proj has a bias */
    public boolean outputProjectionBias() {
        return outputProjectionBias;
    }

    /** @return whether gate_proj, up_proj and down_proj have a bias */
    public boolean mlpBias() {
        return mlpBias;
    }

    /** @return the configured sliding window (recorded, not applied), if any */
    public OptionalInt slidingWindow() {
        return slidingWindow == null ? OptionalInt.empty() : OptionalInt.of(slidingWindow);
    }

    /** @return {@code eos_token_id} as a list (empty when absent) */
    public List<Long> eosTokenIds() {
        return eosTokenIds;
    }

    /** @return query heads per key/value head */
    public int numKeyValueGroups() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /**
     * Makes a configuration from a JSON object, for models built in code.
     *
     * @param json a {@code config.json} object
     * @param source a name for messages
     * @return the typed configuration
     */
    public static LlamaConfig of(ObjectNode json, String source) {
        return from(HfConfig.of(json, source));
    }

    @Override
    public String toString() {
        return "LlamaConfig(" + modelType + ", hidden=" + hiddenSize + ", layers=" + numHiddenLayers
                + ", heads=" + numAttentionHeads + "/" + numKeyValueHeads + ", head_dim=" + headDim
                + ", vocab=" + vocabSize + ", " + ropeScaling + ")";
    }
}
