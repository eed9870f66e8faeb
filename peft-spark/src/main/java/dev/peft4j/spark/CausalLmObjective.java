package dev.peft4j.spark;

import dev.peft4j.core.data.CausalLmDataset;
import dev.peft4j.core.data.SegmentEncoder;
import dev.peft4j.core.model.HfConfig;
import dev.peft4j.core.model.PretrainedAssets;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.task.CausalLmTask;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.train.StepOutput;
import dev.peft4j.core.train.TrainStep;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructField;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Causal language modelling: shifted next-token cross-entropy, mean over the trained tokens (labels
 * other than {@code -100}). A row is read like a JSONL row of {@link CausalLmDataset}: {@code
 * text}, {@code prompt}/{@code completion}, or pre-tokenized {@code input_ids}
 * (with {@code labels} or {@code prompt_len}); text is tokenized with the base model's {@code
 * tokenizer.json}, BOS/EOS/PAD ids from its {@code config.json}.
 */
final class CausalLmObjective implements TrainObjective<LlamaForCausalLM> {

    private static final long serialVersionUID = 1L;

    /** Segments are never cut by the tokenizer; the data set truncates whole sequences. */
    private static final int SEGMENT_LIMIT = 1 << 20;

    private final ModelSource<LlamaForCausalLM> source;
    private final int maxLength;

    CausalLmObjective(ModelSource<LlamaForCausalLM> source, int maxLength) {
        this.source = source;
        this.maxLength = maxLength;
    }

    @Override
    public ModelSource<LlamaForCausalLM> source() {
        return source;
    }

    @Override
    public TrainStep step(LlamaForCausalLM base, List<Row> rows) throws IOException {
        CausalLmDataset data = dataset(base, rows, maxLength);
        TrainStep inner = CausalLmTask.trainStep(data, (ps, b, training) ->
                base.forward(ps, b.inputIds(), b.attentionMask(), null, null, training).logits());
        return (ps, manager, ids, training) -> {
            long targets = 0;
            for (int i : ids) {
                targets += data.example(i).targetCount();
            }
            return new StepOutput(inner.compute(ps, manager, ids, training).loss(), targets);
        };
    }

    @Override
    public DataParallelLoop.Normalization normalization() {
        return DataParallelLoop.Normalization.TOKENS;
    }

    /**
     * @param base the model, with the config (and tokenizer) it was loaded with
     * @param rows the rows
     * @param maxLength tokens per sequence
     * @return the rows tokenized
     * @throws IOException for a bad row (the message names it as {@code records:<n>})
     */
    static CausalLmDataset dataset(LlamaForCausalLM base, List<Row> rows, int maxLength) throws IOException {
        CausalLmDataset.Builder b = CausalLmDataset.builder().setMaxLength(maxLength)
                .optVocabSize(base.config().vocabSize());
        PretrainedAssets assets = base.assets();
        TextTokenizer tokenizer = null;
        if (assets != null) {
            HfConfig config = assets.config();
            int bos = config.optInt("bos_token_id", -1);
            if (bos >= 0) {
                b.optBosTokenId(bos);
            }
            int pad = config.optInt("pad_token_id", -1);
            if (pad >= 0) {
                b.optPadTokenId(pad);
            }
            byte[] json = assets.tokenizerFiles().get("tokenizer.json");
            if (json != null) {
                tokenizer = TextTokenizer.builder()
                        .setTokenizerJson(new String(json, StandardCharsets.UTF_8), config.source())
                        .setMaxLength(SEGMENT_LIMIT).optTruncation(false).optAddSpecialTokens(false).build();
                b.optEncoder(SegmentEncoder.of(tokenizer));
            }
        }
        if (!base.config().eosTokenIds().isEmpty()) {
            b.optEosTokenId(base.config().eosTokenIds().get(0));
        }
        try {
            return b.setRecords(records(rows)).build();
        } finally {
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    /** @return every row as a map of its non-null columns, arrays as lists */
    private static List<Map<String, Object>> records(List<Row> rows) {
        List<Map<String, Object>> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            StructField[] fields = r.schema().fields();
            for (int i = 0; i < fields.length; i++) {
                if (!r.isNullAt(i)) {
                    m.put(fields[i].name(), fields[i].dataType() instanceof ArrayType ? r.getList(i) : r.get(i));
                }
            }
            out.add(m);
        }
        return out;
    }
}
