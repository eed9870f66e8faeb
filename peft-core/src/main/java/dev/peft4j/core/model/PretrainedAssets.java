package dev.peft4j.core.model;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.text.TextTokenizer;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a typed model keeps beside its module tree: its {@code config.json} (for {@code
 * savePretrained}), its tokenizer and tokenizer files, and, when it was made by {@code
 * fromPretrained}, the {@link NDManager} owning all its arrays. Closing releases the tokenizer and
 * the owned manager.
 */
public final class PretrainedAssets implements AutoCloseable {

    /** Texts or prompts per forward pass in the typed models' batched inference. */
    public static final int BATCH_SIZE = 32;

    private final HfConfig config;
    private final Map<String, byte[]> tokenizerFiles;
    private final TextTokenizer tokenizer;
    private final NDManager owner;

    /**
     * @param config the model's {@code config.json}
     * @param tokenizerFiles tokenizer files by name, written beside saved weights
     * @param tokenizer the tokenizer, or null; closed by {@link #close()}
     * @param owner the manager owning the model's arrays, or null when the caller owns them
     */
    public PretrainedAssets(HfConfig config, Map<String, byte[]> tokenizerFiles, TextTokenizer tokenizer,
            NDManager owner) {
        this.config = Objects.requireNonNull(config, "config");
        this.tokenizerFiles = Map.copyOf(tokenizerFiles);
        this.tokenizer = tokenizer;
        this.owner = owner;
    }

    /**
     * @param config a loaded checkpoint's {@code config.json}
     * @return assets with the config only (arrays owned by the caller, no tokenizer)
     */
    public static PretrainedAssets configOnly(HfConfig config) {
        return new PretrainedAssets(config, Map.of(), null, null);
    }

    /** @return the model's {@code config.json} */
    public HfConfig config() {
        return config;
    }

    /** @return the tokenizer files by name */
    public Map<String, byte[]> tokenizerFiles() {
        return tokenizerFiles;
    }

    /** @return the tokenizer, when the model has one */
    public Optional<TextTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /**
     * @param what the operation, for the message
     * @return the tokenizer
     * @throws IllegalStateException when the model has none
     */
    public TextTokenizer requireTokenizer(String what) {
        if (tokenizer == null) {
            throw new IllegalStateException(config.source() + ": " + what + " needs a tokenizer, and the model has"
                    + " none (no tokenizer.json)");
        }
        return tokenizer;
    }

    /** @return the manager owning the model's arrays, when the model owns them */
    public Optional<NDManager> owner() {
        return Optional.ofNullable(owner);
    }

    /** Closes the tokenizer and the owned manager (freeing the model's arrays). */
    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        if (owner != null) {
            owner.close();
        }
    }
}
