package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.PretrainedAssets;
import dev.peft4j.core.model.PretrainedFiles;
import dev.peft4j.core.model.PretrainedOptions;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;

/**
 * The BERT side of {@code fromPretrained}: a manager of the model's own, the weights through the
 * options' weight loader, the tokenizer from {@code tokenizer.json}; on any failure the manager is
 * closed, so nothing leaks.
 */
final class BertPretrained {

    /**
     * The maximum sequence length sentence-transformers uses for all-MiniLM-L6-v2; directories
     * default to their {@code max_position_embeddings}.
     */
    static final int BUILTIN_MAX_LENGTH = 256;

    private BertPretrained() {}

    static BertModel encoder(PretrainedFiles files, PretrainedOptions options) throws IOException {
        NDManager owner = newManager(options);
        TextTokenizer tok = null;
        try {
            HfConfig hf = files.config();
            BertModel model;
            try (TensorSource source = files.openWeights()) {
                model = BertModel.load(source, hf, owner, options.weightLoader(hf));
            }
            tok = tokenizer(files, options, model.config());
            model.setAssets(new PretrainedAssets(hf, files.tokenizerFiles(), tok, owner));
            return model;
        } catch (IOException | RuntimeException | Error e) {
            close(tok, owner);
            throw e;
        }
    }

    static BertForSequenceClassification classifier(PretrainedFiles files, PretrainedOptions options)
            throws IOException {
        NDManager owner = newManager(options);
        TextTokenizer tok = null;
        try {
            HfConfig hf = files.config();
            BertForSequenceClassification model;
            try (TensorSource source = files.openWeights()) {
                BertForSequenceClassification.Loader loader = BertForSequenceClassification.loader()
                        .setCheckpoint(source, hf).setManager(owner).optWeightLoader(options.weightLoader(hf));
                options.labels().ifPresent(loader::optLabels);
                options.pooling().ifPresent(loader::optPooling);
                model = loader.load();
            }
            tok = tokenizer(files, options, model.config());
            model.setAssets(new PretrainedAssets(hf, files.tokenizerFiles(), tok, owner));
            return model;
        } catch (IOException | RuntimeException | Error e) {
            close(tok, owner);
            throw e;
        }
    }

    private static NDManager newManager(PretrainedOptions options) {
        return options.device() == null ? NDManager.newBaseManager() : NDManager.newBaseManager(options.device());
    }

    private static TextTokenizer tokenizer(PretrainedFiles files, PretrainedOptions options, BertConfig config)
            throws IOException {
        int max = config.maxPositionEmbeddings();
        int len = files.maxLength(options.maxLength(), files.isBuiltin() ? BUILTIN_MAX_LENGTH : max, max);
        return files.tokenizer(len, true).orElse(null);
    }

    private static void close(TextTokenizer tok, NDManager owner) {
        if (tok != null) {
            tok.close();
        }
        owner.close();
    }
}
