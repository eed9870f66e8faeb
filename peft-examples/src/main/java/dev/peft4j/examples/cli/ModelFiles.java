package dev.peft4j.examples.cli;

import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What {@code --model} names: a built-in id ({@code builtin:all-minilm-l6-v2}) or a Hugging Face
 * directory ({@code config.json}, safetensors weights, optionally {@code tokenizer.json}).
 *
 * @param spec the {@code --model} value
 * @param config the {@code config.json}
 * @param tokenizerJson the {@code tokenizer.json} text, when there is one
 * @param builtin the built-in model, or null for a directory
 */
record ModelFiles(String spec, HfConfig config, Optional<String> tokenizerJson, BuiltinModel builtin) {

    /**
     * @param spec {@code builtin:<name>} or a model directory
     * @return the files
     * @throws IOException when the directory or its config is missing
     */
    static ModelFiles resolve(String spec) throws IOException {
        if (Builtins.isBuiltin(spec)) {
            BuiltinModel builtin = Builtins.get(spec);
            return new ModelFiles(spec, HfConfig.of(builtin.config(), spec), Optional.of(builtin.tokenizerJson()),
                    builtin);
        }
        Path dir = Path.of(spec);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(spec, null, "--model must be " + String.join(" or ", Builtins.ids())
                    + " or a Hugging Face model directory");
        }
        Path tokenizerFile = dir.resolve("tokenizer.json");
        Optional<String> tokenizer = Files.isRegularFile(tokenizerFile)
                ? Optional.of(Files.readString(tokenizerFile)) : Optional.empty();
        return new ModelFiles(spec, HfConfig.read(dir), tokenizer, null);
    }

    /** @return the model directory, for directory models */
    Path dir() {
        return Path.of(spec);
    }

    /**
     * @return the weights; close them after loading
     * @throws IOException when they cannot be opened
     */
    TensorSource openWeights() throws IOException {
        return builtin != null ? builtin.openWeights() : TensorSources.open(dir());
    }

    /**
     * @return the {@code tokenizer.json} text
     * @throws NoSuchFileException when the model has none
     */
    String requireTokenizerJson() throws NoSuchFileException {
        return tokenizerJson.orElseThrow(() -> new NoSuchFileException(dir().resolve("tokenizer.json").toString(),
                null, "the model directory has no tokenizer.json"));
    }

    /**
     * @param maxLength tokens per text, special tokens included
     * @return a tokenizer adding special tokens and truncating to {@code maxLength}
     * @throws IOException when there is no valid tokenizer.json
     */
    TextTokenizer classificationTokenizer(int maxLength) throws IOException {
        return TextTokenizer.builder().setTokenizerJson(requireTokenizerJson(), spec).setMaxLength(maxLength).build();
    }
}
