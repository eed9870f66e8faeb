package dev.peft4j.core.train;

/**
 * The defaults of a fine-tuning run, in one place: {@link TrainingArguments} (and so {@link
 * FineTuner}) and the {@code peft4j train} / {@code demo} command line both read them. Re-tuned
 * values go here and nowhere else.
 *
 * <p>A fresh classifier head starts as Hugging Face's {@code _init_weights} does ({@code
 * normal(0, initializer_range)} weights, zero bias; see {@code BertForSequenceClassification}) and
 * trains at {@link #LEARNING_RATE} like the adapter (no separate head learning rate today).
 *
 * <p>Today's values were tuned on the Amazon Fine Food reviews of the demo (all-MiniLM-L6-v2,
 * LoRA r=8 on query/value plus a trained classifier head).
 */
public final class TrainingDefaults {

    /** Passes over the training data. */
    public static final int EPOCHS = 3;

    /** Peak learning rate of AdamW (adapter and head alike). */
    public static final double LEARNING_RATE = 1e-3;

    /** The learning-rate schedule: linear warmup then linear decay. */
    public static final ScheduleType SCHEDULE = ScheduleType.LINEAR;

    /** Warmup as a fraction of the total steps. */
    public static final double WARMUP_RATIO = 0.06;

    /** Examples per training batch. */
    public static final int BATCH_SIZE = 16;

    /** Tokens per example; longer ones are truncated. */
    public static final int MAX_LENGTH = 128;

    /** Batches per optimizer step. */
    public static final int GRADIENT_ACCUMULATION = 1;

    /** Global gradient-norm clipping threshold. */
    public static final double MAX_GRAD_NORM = 1.0;

    /**
     * The run seed (data order, dropout, adapter initialization; the CLI also draws a fresh
     * classifier head from it, {@code BertForSequenceClassification.Loader#optSeed}).
     */
    public static final long SEED = 42;

    /**
     * The sequence vector fed to a classifier head ({@code mean}, as sentence-transformers;
     * {@link dev.peft4j.core.model.bert.Pooling#parse} reads it).
     */
    public static final String POOLING = "mean";

    /** Batches per length-sorting chunk of the bucketed sampler. */
    public static final int BUCKET_CHUNK = 16;

    /** Checkpoints kept in {@code checkpoints/} when an output directory is set. */
    public static final int KEEP_CHECKPOINTS = 1;

    private TrainingDefaults() {}
}
