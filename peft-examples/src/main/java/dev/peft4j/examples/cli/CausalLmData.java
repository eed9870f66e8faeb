package dev.peft4j.examples.cli;

import dev.peft4j.core.data.CausalLmDataset;
import dev.peft4j.core.data.ChatTemplate;
import dev.peft4j.core.data.SegmentEncoder;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.task.CausalLanguageModel;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Causal-LM data for a model directory: text rows are tokenized with its {@code tokenizer.json}
 * (without special tokens; {@code bos_token_id} prepended, {@code eos_token_id} appended as the
 * config says); without a tokenizer only pre-tokenized {@code input_ids} rows can be used.
 */
final class CausalLmData implements AutoCloseable {

    /** Segments are never cut by the tokenizer; the dataset truncates whole sequences. */
    private static final int SEGMENT_LIMIT = 1 << 20;

    private final ModelFiles files;
    private final TextTokenizer tokenizer;

    CausalLmData(ModelFiles files) throws IOException {
        this.files = files;
        this.tokenizer = files.tokenizerJson().isPresent()
                ? TextTokenizer.builder().setTokenizerJson(files.tokenizerJson().get(), files.spec())
                        .setMaxLength(SEGMENT_LIMIT).optTruncation(false).optAddSpecialTokens(false).build()
                : null;
    }

    /**
     * @param file the JSONL file
     * @param maxLength tokens per sequence
     * @param template the template of chat rows
     * @param skipBadRows whether to skip bad rows
     * @return the dataset
     * @throws IOException for bad rows or unreadable files
     */
    CausalLmDataset load(Path file, int maxLength, ChatTemplate template, boolean skipBadRows) throws IOException {
        CausalLmDataset.Builder b = CausalLmDataset.builder().setFile(file).setMaxLength(maxLength)
                .optChatTemplate(template).optSkipBadRows(skipBadRows)
                .optVocabSize(files.config().getInt("vocab_size"));
        if (tokenizer != null) {
            b.optEncoder(SegmentEncoder.of(tokenizer));
        }
        int bos = files.config().optInt("bos_token_id", -1);
        if (bos >= 0) {
            b.optBosTokenId(bos);
        }
        int eos = files.config().optInt("eos_token_id", -1);
        if (eos >= 0) {
            b.optEosTokenId(eos);
        }
        int pad = files.config().optInt("pad_token_id", -1);
        if (pad >= 0) {
            b.optPadTokenId(pad);
        }
        return b.build();
    }

    /**
     * @param model the language model
     * @return it as the task glue calls it
     */
    static CausalLanguageModel languageModel(LlamaForCausalLM model) {
        return (ps, b, training) -> model.forward(ps, b.inputIds(), b.attentionMask(), null, null, training).logits();
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
