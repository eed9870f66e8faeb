package dev.peft4j.examples.cli;

import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.PretrainedFiles;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What {@code --model} names: a built-in id ({@code builtin:all-minilm-l6-v2}) or a Hugging Face
 * directory ({@code config.json}, safetensors weights, optionally {@code tokenizer.json}), resolved
 * by peft-core's {@link PretrainedFiles} with the command line's error message.
 *
 * @param spec the {@code --model} value
 * @param files the resolved files
 */
record ModelFiles(String spec, PretrainedFiles files) {

    /**
     * @param spec {@code builtin:<name>} or a model directory
     * @return the files
     * @throws IOException when the directory or its config is missing
     */
    static ModelFiles resolve(String spec) throws IOException {
        if (!Builtins.isBuiltin(spec) && !Files.isDirectory(Path.of(spec))) {
            throw new NoSuchFileException(spec, null, "--model must be " + String.join(" or ", Builtins.ids())
                    + " or a Hugging Face model directory");
        }
        return new ModelFiles(spec, PretrainedFiles.resolve(spec));
    }

    /** @return the model directory, for directory models */
    Path dir() {
        return Path.of(spec);
    }

    /** @return the {@code config.json} */
    HfConfig config() {
        return files.config();
    }

    /** @return the {@code tokenizer.json} text, when there is one */
    Optional<String> tokenizerJson() {
        return files.tokenizerJson();
    }

    /**
     * @return the weights; close them after loading
     * @throws IOException when they cannot be opened
     */
    TensorSource openWeights() throws IOException {
        return files.openWeights();
    }

    /**
     * @return the {@code tokenizer.json} text
     * @throws NoSuchFileException when the model has none
     */
    String requireTokenizerJson() throws NoSuchFileException {
        return files.requireTokenizerJson();
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
