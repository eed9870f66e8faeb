package dev.peft4j.quant.nn;

import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.peft4j.quant.QuantType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code quantization_config} entry of a Hugging Face {@code config.json} for a bitsandbytes
 * 4-bit checkpoint, with the fields and values of transformers' {@code
 * BitsAndBytesConfig.to_dict()}, so that transformers loads the directory as a pre-quantized 4-bit
 * model:
 *
 * <pre>{@code
 * "quantization_config": {
 *   "_load_in_4bit": true, "_load_in_8bit": false,
 *   "bnb_4bit_compute_dtype": "float32", "bnb_4bit_quant_storage": "uint8",
 *   "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true,
 *   "llm_int8_enable_fp32_cpu_offload": false, "llm_int8_has_fp16_weight": false,
 *   "llm_int8_skip_modules": ["lm_head", "model.embed_tokens"], "llm_int8_threshold": 6.0,
 *   "load_in_4bit": true, "load_in_8bit": false, "quant_method": "bitsandbytes"
 * }
 * }</pre>
 *
 * <p>transformers keeps a linear layer in full precision when an entry of {@code
 * llm_int8_skip_modules} equals its dotted path or occurs in it followed by a dot; writers should
 * therefore list the full paths of the layers they did not quantize. The block size is not part
 * of the entry: it is stored per tensor in the quant state.
 */
public final class HfQuantizationConfig {

    /** The key in {@code config.json}. */
    public static final String KEY = "quantization_config";

    private HfQuantizationConfig() {}

    /**
     * @param quantType NF4 or FP4
     * @param doubleQuant whether the block scales are double-quantized
     * @param computeDtype FLOAT32, FLOAT16 or BFLOAT16 (the name only; peft4j computes in float32 on
     *     CPU); {@code null} for float32
     * @param skipModules module paths kept in full precision
     * @return the {@code quantization_config} object
     */
    public static ObjectNode toJson(QuantType quantType, boolean doubleQuant, DataType computeDtype,
                                    List<String> skipModules) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("_load_in_4bit", true);
        n.put("_load_in_8bit", false);
        n.put("bnb_4bit_compute_dtype", torchName(computeDtype));
        n.put("bnb_4bit_quant_storage", "uint8");
        n.put("bnb_4bit_quant_type", quantType.bnbName());
        n.put("bnb_4bit_use_double_quant", doubleQuant);
        n.put("llm_int8_enable_fp32_cpu_offload", false);
        n.put("llm_int8_has_fp16_weight", false);
        ArrayNode skip = n.putArray("llm_int8_skip_modules");
        skipModules.forEach(skip::add);
        n.put("llm_int8_threshold", 6.0);
        n.put("load_in_4bit", true);
        n.put("load_in_8bit", false);
        n.put("quant_method", "bitsandbytes");
        return n;
    }

    /**
     * @param config peft4j's quantization settings
     * @param unquantized full paths of further linear layers left in full precision
     * @return the {@code quantization_config} object; skip modules are the config's entries
     *     followed by {@code unquantized}
     */
    public static ObjectNode toJson(QuantizationConfig config, List<String> unquantized) {
        List<String> skip = new ArrayList<>(config.skipModules());
        unquantized.stream().filter(p -> !skip.contains(p)).forEach(skip::add);
        return toJson(config.quantType(), config.isDoubleQuant(), config.computeDtype().orElse(null), skip);
    }

    /**
     * @param config a {@code config.json} object
     * @return whether it declares a bitsandbytes quantization
     */
    public static boolean isPresent(JsonNode config) {
        JsonNode q = config.get(KEY);
        return q != null && q.isObject();
    }

    /**
     * Reads a {@code quantization_config} written by transformers or peft4j into peft4j's settings
     * (block size 64; a pre-quantized checkpoint's own block size wins when loading).
     *
     * @param config a {@code config.json} object holding {@value #KEY}
     * @param source the file, for messages
     * @return the settings
     * @throws IllegalArgumentException naming the file and the field when the entry is absent, not
     *     bitsandbytes 4-bit, or has an invalid value
     */
    public static QuantizationConfig read(JsonNode config, String source) {
        if (!isPresent(config)) {
            throw new IllegalArgumentException(source + ": no '" + KEY + "' object");
        }
        JsonNode q = config.get(KEY);
        String method = q.path("quant_method").asText("");
        if (!method.equals("bitsandbytes")) {
            throw new IllegalArgumentException(source + ": " + KEY + ".quant_method must be \"bitsandbytes\", got "
                    + q.get("quant_method"));
        }
        if (!q.path("load_in_4bit").asBoolean(false) && !q.path("_load_in_4bit").asBoolean(false)) {
            throw new IllegalArgumentException(source + ": " + KEY + ".load_in_4bit must be true (only 4-bit"
                    + " checkpoints are supported)");
        }
        QuantType type;
        try {
            type = QuantType.fromBnbName(q.path("bnb_4bit_quant_type").asText("fp4"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": " + KEY + ".bnb_4bit_quant_type: " + e.getMessage(), e);
        }
        DataType compute = switch (q.path("bnb_4bit_compute_dtype").asText("float32")) {
            case "float16" -> DataType.FLOAT16;
            default -> null; // float32, or bfloat16, which peft4j computes in float32
        };
        List<String> skip = new ArrayList<>();
        JsonNode s = q.get("llm_int8_skip_modules");
        if (s != null && !s.isNull()) {
            if (!s.isArray()) {
                throw new IllegalArgumentException(source + ": " + KEY
                        + ".llm_int8_skip_modules must be a list of strings or null, got " + s);
            }
            s.forEach(x -> skip.add(x.asText()));
        } else {
            skip.addAll(QuantizationConfig.DEFAULT_SKIP_MODULES);
        }
        return QuantizationConfig.builder()
                .setQuantType(type)
                .optDoubleQuant(q.path("bnb_4bit_use_double_quant").asBoolean(false))
                .optComputeDtype(compute)
                .optSkipModules(skip)
                .build();
    }

    private static String torchName(DataType t) {
        if (t == null) {
            return "float32";
        }
        return switch (t) {
            case FLOAT32 -> "float32";
            case FLOAT16 -> "float16";
            case BFLOAT16 -> "bfloat16";
            default -> throw new IllegalArgumentException("compute dtype must be a float type, got "
                    + t.name().toLowerCase(Locale.ROOT));
        };
    }
}
