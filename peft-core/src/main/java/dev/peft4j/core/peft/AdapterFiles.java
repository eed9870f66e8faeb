package dev.peft4j.core.peft;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.QuantizedLinear;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/** PEFT's adapter directory: file names, the metadata peft4j adds, and reading {@code peft_type}. */
public final class AdapterFiles {

    /** PEFT's configuration file. */
    public static final String CONFIG_FILE = "adapter_config.json";

    /** PEFT's weights file. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    /** The prefix of PEFT's saved keys for tuner methods (LoRA, IA³). */
    public static final String TUNER_PREFIX = "base_model.model.";

    /**
     * Weights-file metadata key holding the SHA-256 of the configuration file saved with them: each
     * file is replaced atomically but the pair is not, so a load warns when they differ.
     */
    public static final String CONFIG_DIGEST_KEY = "peft4j_adapter_config_sha256";

    /**
     * Weights-file metadata key naming the quantization of the base the adapter was trained over
     * (QLoRA), e.g. {@code nf4, blocksize 64, double quant}; absent for a full-precision base.
     * PEFT's config has no such field; a load onto a base quantized otherwise warns.
     */
    public static final String BASE_QUANTIZATION_KEY = "peft4j_base_quantization";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private AdapterFiles() {}

    /**
     * @param file an adapter configuration file
     * @return its {@code peft_type}
     * @throws IOException when it cannot be read
     * @throws IllegalArgumentException naming the file when it is not JSON or lacks {@code peft_type}
     */
    public static String peftType(Path file) throws IOException {
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": an adapter config must be a JSON object");
        }
        if (!root.hasNonNull("peft_type")) {
            throw new IllegalArgumentException(file + ": missing required key 'peft_type'");
        }
        return root.get("peft_type").asText();
    }

    /**
     * @param weights an adapter's weights
     * @param config the configuration file beside them
     * @return false when the weights record the digest of another config ({@link
     *     #CONFIG_DIGEST_KEY}); true when it matches or is absent (files written by PEFT)
     * @throws IOException when the config cannot be read
     */
    public static boolean savedWith(TensorSource weights, Path config) throws IOException {
        String digest = weights.metadata().get(CONFIG_DIGEST_KEY);
        return digest == null || digest.equals(sha256(config));
    }

    /**
     * @param model a model
     * @return the quantization of its first quantized layer ({@link QuantizedLinear#quantization}),
     *     e.g. {@code nf4, blocksize 64, double quant}; empty when it has none
     */
    public static Optional<String> baseQuantization(Module model) {
        return Optional.ofNullable(QuantizedLinear.quantizationOf(model));
    }

    /**
     * @param trainedOver the adapter's {@link #BASE_QUANTIZATION_KEY}, or null when unknown
     * @param now the quantization of the base it is loaded onto
     * @return a warning when the adapter was trained over a 4-bit base other than this one, else
     *     null
     */
    public static String quantizationMismatch(String trainedOver, Optional<String> now) {
        if (trainedOver == null || now.map(trainedOver::equals).orElse(false)) {
            return null; // unknown (saved by PEFT or an older peft4j), or the same
        }
        return "the adapter was trained over a 4-bit (" + trainedOver + ") base but is loaded onto a "
                + now.map(q -> "4-bit (" + q + ")").orElse("full-precision") + " one, so its outputs differ from"
                + " training; quantize the base the same way (on the command line: --quantize "
                + trainedOver.split(",")[0] + ", with --blocksize/--no-double-quant as in training)";
    }

    /**
     * @param file a file
     * @return the SHA-256 of its bytes, in hex
     * @throws IOException when it cannot be read
     */
    public static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
