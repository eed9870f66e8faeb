package dev.peft4j.core.data;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Causal-LM training sequences from a JSONL file, tokenized once when built. Each row is one of:
 *
 * <ul>
 *   <li>{@code {"prompt": ..., "completion": ...}}: loss on the completion (and the end-of-sequence
 *       token) only;
 *   <li>{@code {"messages": [{"role": ..., "content": ...}, ...]}}: rendered with the {@link
 *       ChatTemplate}; loss on assistant turns only;
 *   <li>{@code {"text": ...}}: continued pretraining, loss on every token;
 *   <li>{@code {"input_ids": [...]}} pre-tokenized, used as is (no BOS/EOS added): loss on every
 *       token, or with {@code "prompt_len": k} not on the first {@code k}, or with {@code
 *       "labels": [...]} (same length, {@code -100} for no loss) exactly as given.
 * </ul>
 *
 * <p>Text is tokenized segment by segment with the {@link SegmentEncoder} (no special tokens), a
 * BOS id is prepended when set, and the sequence is cut to the maximum length (keeping its start);
 * with truncation off a longer sequence is a bad row, as is one with no trained token left. Bad
 * rows fail the build with a {@link DataException} naming the file and line, or are skipped and
 * counted with {@link Builder#optSkipBadRows}.
 */
public final class CausalLmDataset {

    private static final Logger LOG = LoggerFactory.getLogger(CausalLmDataset.class);

    private final String source;
    private final List<CausalLmExample> examples;
    private final long[] lines;
    private final long padId;
    private final int skipped;
    private final int truncated;

    private CausalLmDataset(String source, List<CausalLmExample> examples, long[] lines, long padId,
            int skipped, int truncated) {
        this.source = source;
        this.examples = List.copyOf(examples);
        this.lines = lines;
        this.padId = padId;
        this.skipped = skipped;
        this.truncated = truncated;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the file name the examples came from */
    public String source() {
        return source;
    }

    /** @return the number of sequences */
    public int size() {
        return examples.size();
    }

    /**
     * @param index a sequence index
     * @return the sequence
     */
    public CausalLmExample example(int index) {
        return examples.get(index);
    }

    /**
     * @param index a sequence index
     * @return the 1-based line it came from
     */
    public long line(int index) {
        return lines[index];
    }

    /** @return every sequence's token count, for length bucketing */
    public int[] lengths() {
        int[] out = new int[examples.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = examples.get(i).length();
        }
        return out;
    }

    /** @return the number of bad rows skipped */
    public int skippedRows() {
        return skipped;
    }

    /** @return the number of sequences cut to the maximum length */
    public int truncatedCount() {
        return truncated;
    }

    /**
     * Pads sequences on the right to the longest of them; padding gets the pad id, mask 0 and
     * label {@link CausalLmExample#IGNORE}.
     *
     * @param indices sequence indices; not empty
     * @param manager owner of the arrays
     * @return the batch
     */
    public CausalLmBatch batch(List<Integer> indices, NDManager manager) {
        if (indices.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        int n = indices.size();
        int seq = 0;
        for (int i : indices) {
            seq = Math.max(seq, examples.get(i).length());
        }
        long[] ids = new long[n * seq];
        long[] mask = new long[n * seq];
        long[] labels = new long[n * seq];
        Arrays.fill(ids, padId);
        Arrays.fill(labels, CausalLmExample.IGNORE);
        long tokens = 0;
        long targets = 0;
        for (int b = 0; b < n; b++) {
            CausalLmExample e = examples.get(indices.get(b));
            long[] eIds = e.ids();
            System.arraycopy(eIds, 0, ids, b * seq, eIds.length);
            System.arraycopy(e.labels(), 0, labels, b * seq, eIds.length);
            Arrays.fill(mask, b * seq, b * seq + eIds.length, 1);
            tokens += eIds.length;
            targets += e.targetCount();
        }
        Shape shape = new Shape(n, seq);
        return new CausalLmBatch(manager.create(ids, shape), manager.create(mask, shape),
                manager.create(labels, shape), tokens, targets);
    }

    /** Builds a {@link CausalLmDataset}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private Path file;
        private Iterable<?> records;
        private SegmentEncoder encoder;
        private ChatTemplate template = ChatTemplate.CHATML;
        private int maxLength;
        private boolean truncation = true;
        private Long bosId;
        private Long eosId;
        private long padId = -1;
        private int vocabSize;
        private boolean skipBadRows;

        private Builder() {}

        /**
         * @param file a {@code .jsonl} file (required)
         * @return this builder
         */
        public Builder setFile(Path file) {
            this.file = file;
            return this;
        }

        /**
         * In-memory rows instead of a file (see {@link DataRecords} for what a row may be:
         * {@code LabeledText}, {@code PromptCompletion}, {@code PlainText}, a {@code Map}, a
         * {@code JsonNode}, or any record with the fields read); they go through the same code as a
         * file's rows, row {@code i} reported as line {@code i + 1} of {@value DataRecords#SOURCE}.
         *
         * @param records the rows (required unless {@link #setFile} is set)
         * @return this builder
         */
        public Builder setRecords(Iterable<?> records) {
            this.records = records;
            return this;
        }

        /**
         * @param maxLength the maximum tokens per sequence, positive (required)
         * @return this builder
         */
        public Builder setMaxLength(int maxLength) {
            this.maxLength = maxLength;
            return this;
        }

        /**
         * @param encoder tokenizes text segments; required unless every row is pre-tokenized
         * @return this builder
         */
        public Builder optEncoder(SegmentEncoder encoder) {
            this.encoder = encoder;
            return this;
        }

        /**
         * @param template the template of {@code messages} rows (default {@link
         *     ChatTemplate#CHATML})
         * @return this builder
         */
        public Builder optChatTemplate(ChatTemplate template) {
            this.template = template;
            return this;
        }

        /**
         * @param truncation whether longer sequences are cut (default) or bad rows
         * @return this builder
         */
        public Builder optTruncation(boolean truncation) {
            this.truncation = truncation;
            return this;
        }

        /**
         * @param bosId the beginning-of-sequence id prepended to text rows (default: none)
         * @return this builder
         */
        public Builder optBosTokenId(long bosId) {
            this.bosId = bosId;
            return this;
        }

        /**
         * @param eosId the end-of-sequence id appended to text, prompt/completion and (with
         *     {@link ChatTemplate#PLAIN}) chat rows, and trained on (default: none)
         * @return this builder
         */
        public Builder optEosTokenId(long eosId) {
            this.eosId = eosId;
            return this;
        }

        /**
         * @param padId the id of padding positions (default: the EOS id, else 0); masked anyway
         * @return this builder
         */
        public Builder optPadTokenId(long padId) {
            this.padId = padId;
            return this;
        }

        /**
         * @param vocabSize when positive, pre-tokenized ids must be below it (default 0: no check)
         * @return this builder
         */
        public Builder optVocabSize(int vocabSize) {
            this.vocabSize = vocabSize;
            return this;
        }

        /**
         * @param skipBadRows whether to skip bad rows, counting them, instead of failing (default
         *     false)
         * @return this builder
         */
        public Builder optSkipBadRows(boolean skipBadRows) {
            this.skipBadRows = skipBadRows;
            return this;
        }

        /**
         * Reads and tokenizes the file.
         *
         * @return the dataset
         * @throws DataException for a bad row (unless skipped) or a file without usable rows
         * @throws IOException when the file cannot be read
         */
        public CausalLmDataset build() throws IOException {
            if ((file == null) == (records == null)) {
                throw new IllegalArgumentException(file == null
                        ? "a file or records are required (setFile or setRecords)"
                        : "set either a file or records, not both (setFile, setRecords)");
            }
            if (maxLength <= 0) {
                throw new IllegalArgumentException("maxLength must be positive (setMaxLength), got " + maxLength);
            }
            Objects.requireNonNull(template, "chat template must not be null");
            BadRows bad = BadRows.of(skipBadRows);
            List<DataRecord> rows = file != null ? RecordReader.read(file, bad) : DataRecords.of(records, bad);
            List<CausalLmExample> out = new ArrayList<>();
            List<Long> lines = new ArrayList<>();
            int cut = 0;
            for (DataRecord row : rows) {
                try {
                    CausalLmExample full = example(row);
                    CausalLmExample e = fit(row, full);
                    cut += e.length() < full.length() ? 1 : 0;
                    out.add(e);
                    lines.add(row.line());
                } catch (DataException e) {
                    bad.handle(e);
                }
            }
            String source = file != null ? file.getFileName().toString() : DataRecords.SOURCE;
            if (out.isEmpty()) {
                throw new DataException(source, 0, "no usable rows (" + bad.skipped() + " bad rows skipped)");
            }
            if (bad.skipped() > 0) {
                LOG.warn("{}: skipped {} bad rows", source, bad.skipped());
            }
            long pad = padId >= 0 ? padId : eosId != null ? eosId : 0;
            return new CausalLmDataset(source, out, lines.stream().mapToLong(Long::longValue).toArray(), pad,
                    bad.skipped(), cut);
        }

        private CausalLmExample example(DataRecord row) throws DataException {
            if (row.has("input_ids")) {
                return pretokenized(row);
            }
            if (row.has("messages")) {
                List<ChatMessage> messages = messages(row);
                List<Segment> segments = new ArrayList<>(template.render(messages));
                boolean eos = template.appendsEos() && messages.get(messages.size() - 1).isAssistant();
                return encode(row, segments, eos);
            }
            if (row.has("prompt") || row.has("completion")) {
                String prompt = row.text("prompt");
                String completion = row.text("completion");
                return encode(row, List.of(new Segment(prompt, false), new Segment(completion, true)), true);
            }
            if (row.has("text")) {
                return encode(row, List.of(new Segment(row.text("text"), true)), true);
            }
            throw row.error("no 'text', 'prompt'/'completion', 'messages' or 'input_ids' field");
        }

        private List<ChatMessage> messages(DataRecord row) throws DataException {
            JsonNode arr = row.fields().get("messages");
            if (!arr.isArray() || arr.isEmpty()) {
                throw row.error("'messages' must be a non-empty list");
            }
            List<ChatMessage> out = new ArrayList<>();
            boolean assistant = false;
            for (int i = 0; i < arr.size(); i++) {
                JsonNode m = arr.get(i);
                JsonNode role = m.get("role");
                JsonNode content = m.get("content");
                if (role == null || !role.isTextual() || role.asText().isBlank()) {
                    throw row.error("messages[" + i + "] has no 'role'");
                }
                if (content == null || !content.isTextual()) {
                    throw row.error("messages[" + i + "] has no 'content'");
                }
                ChatMessage msg = new ChatMessage(role.asText(), content.asText());
                assistant |= msg.isAssistant();
                out.add(msg);
            }
            if (!assistant) {
                throw row.error("'messages' has no assistant message to train on");
            }
            return out;
        }

        private CausalLmExample encode(DataRecord row, List<Segment> segments, boolean appendEos)
                throws DataException {
            if (encoder == null) {
                throw row.error("text rows need a tokenizer (only pre-tokenized 'input_ids' rows work without)");
            }
            List<Long> ids = new ArrayList<>();
            List<Long> labels = new ArrayList<>();
            if (bosId != null) {
                ids.add(bosId);
                labels.add(CausalLmExample.IGNORE);
            }
            for (Segment s : segments) {
                for (long id : encoder.encode(s.text())) {
                    ids.add(id);
                    labels.add(s.trained() ? id : CausalLmExample.IGNORE);
                }
            }
            if (appendEos && eosId != null) {
                ids.add(eosId);
                labels.add(eosId);
            }
            return new CausalLmExample(ids.stream().mapToLong(Long::longValue).toArray(),
                    labels.stream().mapToLong(Long::longValue).toArray());
        }

        private CausalLmExample pretokenized(DataRecord row) throws DataException {
            long[] ids = longs(row, "input_ids");
            if (ids.length == 0) {
                throw row.error("'input_ids' is empty");
            }
            for (long id : ids) {
                if (id < 0 || (vocabSize > 0 && id >= vocabSize)) {
                    throw row.error("token id " + id + " is outside the vocabulary [0, "
                            + (vocabSize > 0 ? vocabSize : "∞") + ")");
                }
            }
            long[] labels;
            if (row.has("labels")) {
                labels = longs(row, "labels");
                if (labels.length != ids.length) {
                    throw row.error("'labels' has " + labels.length + " entries, 'input_ids' " + ids.length);
                }
                for (long l : labels) {
                    if (l != CausalLmExample.IGNORE && (l < 0 || (vocabSize > 0 && l >= vocabSize))) {
                        throw row.error("label " + l + " is neither -100 nor a token id");
                    }
                }
            } else {
                labels = ids.clone();
                if (row.has("prompt_len")) {
                    JsonNode k = row.fields().get("prompt_len");
                    if (!k.canConvertToInt() || !k.isIntegralNumber() || k.asInt() < 0 || k.asInt() > ids.length) {
                        throw row.error("'prompt_len' must be an integer in [0, " + ids.length + "], got " + k);
                    }
                    Arrays.fill(labels, 0, k.asInt(), CausalLmExample.IGNORE);
                }
            }
            return new CausalLmExample(ids, labels);
        }

        private static long[] longs(DataRecord row, String field) throws DataException {
            JsonNode arr = row.fields().get(field);
            if (!arr.isArray()) {
                throw row.error("'" + field + "' must be a list of integers");
            }
            long[] out = new long[arr.size()];
            for (int i = 0; i < out.length; i++) {
                JsonNode v = arr.get(i);
                if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                    throw row.error("'" + field + "'[" + i + "] is not an integer: " + v);
                }
                out[i] = v.asLong();
            }
            return out;
        }

        private CausalLmExample fit(DataRecord row, CausalLmExample e) throws DataException {
            CausalLmExample kept = e;
            if (e.length() > maxLength) {
                if (!truncation) {
                    throw row.error("sequence has " + e.length() + " tokens, more than maxLength " + maxLength
                            + " (truncation is off)");
                }
                kept = new CausalLmExample(Arrays.copyOf(e.ids(), maxLength), Arrays.copyOf(e.labels(), maxLength));
            }
            if (kept.targetCount() == 0) {
                throw row.error(e.targetCount() == 0
                        ? "no tokens to train on (a sequence needs a trained token after its first)"
                        : "no trained tokens within maxLength " + maxLength);
            }
            return kept;
        }
    }
}
