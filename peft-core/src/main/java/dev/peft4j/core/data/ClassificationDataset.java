package dev.peft4j.core.data;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.text.TokenizedText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Text classification examples from a JSONL or CSV file, tokenized once when built.
 *
 * <pre>{@code
 * ClassificationDataset train = ClassificationDataset.builder()
 *         .setFile(Path.of("train.jsonl"))
 *         .setTokenizer(tokenizer)            // its maxLength and truncation apply
 *         .optTextField("text").optLabelField("label")
 *         .build();                           // labels inferred: sorted distinct labels
 * ClassificationDataset test = ClassificationDataset.builder()
 *         .setFile(Path.of("test.jsonl")).setTokenizer(tokenizer)
 *         .optLabels(train.labels())          // an unknown label is then a bad row
 *         .build();
 * BatchSampler sampler = new LengthBucketBatchSampler(train.lengths(), 16, 16, false);
 * ClassificationBatch batch = train.batch(ids, manager);   // padded to the longest in the batch
 * }</pre>
 *
 * <p>Bad rows (missing or empty text or label, an unknown label with a fixed label set, a text
 * too long with truncation off, invalid JSON) fail the build with a {@link DataException} naming
 * the file and line, or are skipped and counted with {@link Builder#optSkipBadRows}.
 */
public final class ClassificationDataset {

    private static final Logger LOG = LoggerFactory.getLogger(ClassificationDataset.class);

    private final String source;
    private final LabelSet labels;
    private final long[][] ids;
    private final int[] classes;
    private final long[] lines;
    private final long padId;
    private final int skipped;
    private final int truncated;

    private ClassificationDataset(String source, LabelSet labels, long[][] ids, int[] classes, long[] lines,
            long padId, int skipped, int truncated) {
        this.source = source;
        this.labels = labels;
        this.ids = ids;
        this.classes = classes;
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

    /** @return the number of examples */
    public int size() {
        return ids.length;
    }

    /** @return the classes: the fixed set, or the sorted labels of the file */
    public LabelSet labels() {
        return labels;
    }

    /**
     * @param example an example index
     * @return its token ids, special tokens included (a copy)
     */
    public long[] ids(int example) {
        return ids[example].clone();
    }

    /**
     * @param example an example index
     * @return its class index
     */
    public int label(int example) {
        return classes[example];
    }

    /** @return every example's class index (a copy) */
    public int[] classes() {
        return classes.clone();
    }

    /**
     * @param example an example index
     * @return the 1-based line of the file it came from
     */
    public long line(int example) {
        return lines[example];
    }

    /** @return every example's token count, for length bucketing */
    public int[] lengths() {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i].length;
        }
        return out;
    }

    /** @return the number of bad rows skipped */
    public int skippedRows() {
        return skipped;
    }

    /** @return the number of texts cut to the tokenizer's maximum length */
    public int truncatedCount() {
        return truncated;
    }

    /**
     * Pads examples on the right to the longest of them.
     *
     * @param examples example indices; not empty
     * @param manager owner of the arrays
     * @return the batch
     */
    public ClassificationBatch batch(List<Integer> examples, NDManager manager) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        int n = examples.size();
        int seq = 0;
        for (int e : examples) {
            seq = Math.max(seq, ids[e].length);
        }
        long[] flatIds = new long[n * seq];
        long[] mask = new long[n * seq];
        long[] y = new long[n];
        long tokens = 0;
        for (int b = 0; b < n; b++) {
            long[] row = ids[examples.get(b)];
            for (int t = 0; t < seq; t++) {
                boolean real = t < row.length;
                flatIds[b * seq + t] = real ? row[t] : padId;
                mask[b * seq + t] = real ? 1 : 0;
            }
            tokens += row.length;
            y[b] = classes[examples.get(b)];
        }
        Shape shape = new Shape(n, seq);
        return new ClassificationBatch(manager.create(flatIds, shape), manager.create(mask, shape),
                manager.zeros(shape, DataType.INT64), manager.create(y), tokens);
    }

    /** Builds a {@link ClassificationDataset}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private Path file;
        private Iterable<?> records;
        private TextTokenizer tokenizer;
        private String textField = "text";
        private String labelField = "label";
        private LabelSet labels;
        private boolean skipBadRows;

        private Builder() {}

        /**
         * @param file a {@code .jsonl} or {@code .csv} file (required)
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
         * @param tokenizer the tokenizer; its maximum length and truncation apply (required)
         * @return this builder
         */
        public Builder setTokenizer(TextTokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /**
         * @param textField the field holding the text (default {@code text})
         * @return this builder
         */
        public Builder optTextField(String textField) {
            this.textField = textField;
            return this;
        }

        /**
         * @param labelField the field holding the label (default {@code label})
         * @return this builder
         */
        public Builder optLabelField(String labelField) {
            this.labelField = labelField;
            return this;
        }

        /**
         * @param labels a fixed label set (evaluation data); default: inferred from the file
         * @return this builder
         */
        public Builder optLabels(LabelSet labels) {
            this.labels = labels;
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
        public ClassificationDataset build() throws IOException {
            if ((file == null) == (records == null)) {
                throw new IllegalArgumentException(file == null
                        ? "a file or records are required (setFile or setRecords)"
                        : "set either a file or records, not both (setFile, setRecords)");
            }
            Objects.requireNonNull(tokenizer, "tokenizer is required (setTokenizer)");
            requireField(textField, "textField");
            requireField(labelField, "labelField");
            BadRows bad = BadRows.of(skipBadRows);
            List<DataRecord> rows = file != null ? RecordReader.read(file, bad) : DataRecords.of(records, bad);
            List<long[]> ids = new ArrayList<>();
            List<String> labelTexts = new ArrayList<>();
            List<Long> lines = new ArrayList<>();
            int truncated = 0;
            for (DataRecord row : rows) {
                try {
                    String text = row.text(textField);
                    String label = row.text(labelField);
                    if (labels != null && labels.indexOf(label).isEmpty()) {
                        throw row.error("unknown label '" + label + "' (labels: " + labels.labels() + ")");
                    }
                    TokenizedText t;
                    try {
                        t = tokenizer.encode(text);
                    } catch (IllegalArgumentException e) {
                        throw row.error(e.getMessage().replaceFirst("^text 0 ", "text "));
                    }
                    truncated += t.truncated() ? 1 : 0;
                    ids.add(t.ids());
                    labelTexts.add(label);
                    lines.add(row.line());
                } catch (DataException e) {
                    bad.handle(e);
                }
            }
            String source = file != null ? file.getFileName().toString() : DataRecords.SOURCE;
            if (ids.isEmpty()) {
                throw new DataException(source, 0, "no usable rows (" + bad.skipped() + " bad rows skipped)");
            }
            LabelSet set = labels != null ? labels : LabelSet.infer(labelTexts);
            int[] classes = new int[ids.size()];
            long[] lineArr = new long[ids.size()];
            for (int i = 0; i < classes.length; i++) {
                OptionalInt c = set.indexOf(labelTexts.get(i));
                classes[i] = c.getAsInt();
                lineArr[i] = lines.get(i);
            }
            if (bad.skipped() > 0) {
                LOG.warn("{}: skipped {} bad rows", source, bad.skipped());
            }
            return new ClassificationDataset(source, set, ids.toArray(new long[0][]), classes, lineArr,
                    tokenizer.padTokenId().orElse(0), bad.skipped(), truncated);
        }

        private static void requireField(String value, String name) {
            if (value == null || value.isBlank()) {
                throw new IllegalArgumentException(name + " must not be blank");
            }
        }
    }
}
