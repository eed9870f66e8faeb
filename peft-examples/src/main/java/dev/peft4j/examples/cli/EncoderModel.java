package dev.peft4j.examples.cli;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.model.BuiltinModel;
import dev.peft4j.core.model.Builtins;
import dev.peft4j.core.model.ConfigException;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.nn.WeightLoader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A BERT encoder and its tokenizer, resolved from a command line's {@code --model}: a built-in id
 * ({@code builtin:all-minilm-l6-v2}) or a Hugging Face directory holding {@code config.json},
 * safetensors weights and {@code tokenizer.json}.
 *
 * @param model the encoder, its arrays owned by the manager given to {@link #load}
 * @param tokenizer the tokenizer; closed by {@link #close()}
 * @param names the names the model goes by (the {@code --model} value first, then the config's
 *     {@code _name_or_path}), for adapter checks
 */
record EncoderModel(BertModel model, TextTokenizer tokenizer, List<String> names) implements AutoCloseable {

    /**
     * The maximum sequence length sentence-transformers uses for all-MiniLM-L6-v2; directories
     * default to their {@code max_position_embeddings}.
     */
    static final int BUILTIN_MAX_LENGTH = 256;

    /**
     * @param spec {@code builtin:<name>} or a model directory
     * @param maxLength tokens per text, special tokens included; 0 for the model's default
     * @param manager owner of the parameters
     * @return the model and tokenizer
     * @throws IOException when files are missing or unreadable
     */
    static EncoderModel load(String spec, int maxLength, NDManager manager) throws IOException {
        return load(spec, maxLength, manager, hf -> WeightLoader.FULL_PRECISION);
    }

    /**
     * {@link #load(String, int, NDManager)} with the weights placed by the loader {@code weights}
     * picks for the model's configuration (full precision, or 4-bit while loading).
     *
     * @param spec a builtin id or a model directory
     * @param maxLength tokens per text, 0 for the model's default
     * @param manager owner of the weights
     * @param weights how the weights land, given the model's {@code config.json}
     * @return the encoder
     * @throws IOException when the files cannot be read
     */
    static EncoderModel load(String spec, int maxLength, NDManager manager,
            Function<HfConfig, WeightLoader> weights)
            throws IOException {
        if (Builtins.isBuiltin(spec)) {
            BuiltinModel builtin = Builtins.get(spec);
            HfConfig hf = HfConfig.of(builtin.config(), spec);
            BertModel model;
            try (TensorSource source = builtin.openWeights()) {
                model = BertModel.load(source, hf, manager, weights.apply(hf));
            }
            int len = length(maxLength, BUILTIN_MAX_LENGTH, model);
            TextTokenizer tok = TextTokenizer.builder().setTokenizerJson(builtin.tokenizerJson(), spec)
                    .setMaxLength(len).build();
            return new EncoderModel(model, tok, names(spec, hf));
        }
        Path dir = Path.of(spec);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(spec, null,
                    "--model must be " + String.join(" or ", Builtins.ids()) + " or a Hugging Face model directory");
        }
        Path tokenizerFile = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new NoSuchFileException(tokenizerFile.toString(), null, "the model directory has no tokenizer.json");
        }
        HfConfig hf = HfConfig.read(dir);
        BertModel model;
        try (TensorSource source = TensorSources.open(dir)) {
            model = BertModel.load(source, hf, manager, weights.apply(hf));
        }
        int len = length(maxLength, model.config().maxPositionEmbeddings(), model);
        TextTokenizer tok = TextTokenizer.builder().setTokenizerFile(tokenizerFile).setMaxLength(len).build();
        return new EncoderModel(model, tok, names(spec, hf));
    }

    /**
     * @param spec the {@code --model} value
     * @param hf its config
     * @return the value, then the config's {@code _name_or_path} when present
     */
    static List<String> names(String spec, HfConfig hf) {
        List<String> names = new ArrayList<>(List.of(spec));
        if (hf.has("_name_or_path") && hf.get("_name_or_path").isTextual()) {
            names.add(hf.getString("_name_or_path"));
        }
        return names;
    }

    private static int length(int requested, int dflt, BertModel model) {
        int max = model.config().maxPositionEmbeddings();
        if (requested > max) {
            throw new ConfigException("--max-length " + requested + " exceeds the model's max_position_embeddings "
                    + max);
        }
        return requested > 0 ? requested : Math.min(dflt, max);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
