package dev.peft4j.core.model;

import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a {@code fromPretrained} argument names: a built-in id ({@link Builtins}, e.g. {@code
 * builtin:all-minilm-l6-v2}) or a Hugging Face model directory ({@code config.json}, safetensors
 * weights, optionally {@code tokenizer.json} and the other tokenizer files). The tokenizer files are
 * read when resolved, so a saved model carries them even when the source directory is gone.
 *
 * <pre>{@code
 * PretrainedFiles files = PretrainedFiles.resolve("builtin:all-minilm-l6-v2");
 * try (TensorSource weights = files.openWeights()) {
 *     BertModel bert = BertModel.load(weights, files.config(), manager);
 * }
 * }</pre>
 */
public final class PretrainedFiles {

    /** Tokenizer and generation files carried from a model directory to a saved one. */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model",
            "added_tokens.json", "generation_config.json");

    private final String spec;
    private final HfConfig config;
    private final BuiltinModel builtin;
    private final Map<String, byte[]> tokenizerFiles;

    private PretrainedFiles(String spec, HfConfig config, BuiltinModel builtin, Map<String, byte[]> tokenizerFiles) {
        this.spec = spec;
        this.config = config;
        this.builtin = builtin;
        this.tokenizerFiles = Collections.unmodifiableMap(tokenizerFiles);
    }

    /**
     * @param pathOrBuiltinId a built-in id or a model directory
     * @return the files
     * @throws NoSuchFileException when it is neither a built-in id nor a directory
     * @throws IOException when a tokenizer file cannot be read
     * @throws ConfigException when {@code config.json} is missing or invalid
     */
    public static PretrainedFiles resolve(String pathOrBuiltinId) throws IOException {
        if (pathOrBuiltinId == null) {
            throw new NullPointerException("pathOrBuiltinId");
        }
        if (Builtins.isBuiltin(pathOrBuiltinId)) {
            BuiltinModel b = Builtins.get(pathOrBuiltinId);
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put("tokenizer.json", b.tokenizerJson().getBytes(StandardCharsets.UTF_8));
            return new PretrainedFiles(pathOrBuiltinId, HfConfig.of(b.config(), pathOrBuiltinId), b, files);
        }
        Path dir = Path.of(pathOrBuiltinId);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(pathOrBuiltinId, null, "expected " + String.join(" or ", Builtins.ids())
                    + " or a Hugging Face model directory");
        }
        HfConfig config = HfConfig.read(dir);
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String f : TOKENIZER_FILES) {
            Path p = dir.resolve(f);
            if (Files.isRegularFile(p)) {
                files.put(f, Files.readAllBytes(p));
            }
        }
        return new PretrainedFiles(pathOrBuiltinId, config, null, files);
    }

    /** @return the id or directory as given */
    public String spec() {
        return spec;
    }

    /** @return whether this is a built-in model */
    public boolean isBuiltin() {
        return builtin != null;
    }

    /** @return the model's {@code config.json} */
    public HfConfig config() {
        return config;
    }

    /**
     * @return the names the model goes by: the id or directory, then the config's {@code
     *     _name_or_path} when present (for adapter checks)
     */
    public List<String> names() {
        List<String> names = new ArrayList<>(List.of(spec));
        if (config.has("_name_or_path") && config.get("_name_or_path").isTextual()) {
            names.add(config.getString("_name_or_path"));
        }
        return names;
    }

    /**
     * @return the weights; close them after loading
     * @throws IOException when they cannot be opened
     */
    public TensorSource openWeights() throws IOException {
        return builtin != null ? builtin.openWeights() : TensorSources.open(Path.of(spec));
    }

    /** @return the tokenizer files by name, as read when resolved (empty when there are none) */
    public Map<String, byte[]> tokenizerFiles() {
        return tokenizerFiles;
    }

    /** @return the {@code tokenizer.json} text, when there is one */
    public Optional<String> tokenizerJson() {
        byte[] b = tokenizerFiles.get("tokenizer.json");
        return b == null ? Optional.empty() : Optional.of(new String(b, StandardCharsets.UTF_8));
    }

    /**
     * @return the {@code tokenizer.json} text
     * @throws NoSuchFileException when the model has none
     */
    public String requireTokenizerJson() throws NoSuchFileException {
        return tokenizerJson().orElseThrow(() -> new NoSuchFileException(
                Path.of(spec).resolve("tokenizer.json").toString(), null, "the model directory has no tokenizer.json"));
    }

    /**
     * @param maxLength tokens per text, special tokens included
     * @param truncation whether longer texts are cut (else they are an error)
     * @return a tokenizer adding special tokens, or empty without {@code tokenizer.json}
     * @throws IOException when {@code tokenizer.json} is invalid
     */
    public Optional<TextTokenizer> tokenizer(int maxLength, boolean truncation) throws IOException {
        Optional<String> json = tokenizerJson();
        if (json.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(TextTokenizer.builder().setTokenizerJson(json.get(), spec).setMaxLength(maxLength)
                .optTruncation(truncation).build());
    }

    /**
     * @param requested tokens per text asked for; 0 for {@code dflt}
     * @param dflt the default, capped at {@code max}
     * @param max the model's {@code max_position_embeddings}
     * @return the maximum length to use
     * @throws ConfigException when {@code requested} exceeds {@code max}
     */
    public int maxLength(int requested, int dflt, int max) {
        if (requested > max) {
            throw new ConfigException(config.source() + ": maxLength " + requested
                    + " exceeds the model's max_position_embeddings " + max);
        }
        return requested > 0 ? requested : Math.min(dflt, max);
    }

    @Override
    public String toString() {
        return spec;
    }
}
