package dev.peft4j.core.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.checkpoint.GradientCheckpointing;
import dev.peft4j.core.checkpoint.LayerStack;
import dev.peft4j.core.data.CausalLmDataset;
import dev.peft4j.core.data.ClassificationDataset;
import dev.peft4j.core.data.LabelSet;
import dev.peft4j.core.data.SegmentEncoder;
import dev.peft4j.core.model.PretrainedAssets;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.peft.PeftModel;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.task.CausalLanguageModel;
import dev.peft4j.core.task.CausalLmTask;
import dev.peft4j.core.task.ClassificationMetrics;
import dev.peft4j.core.task.ClassificationTask;
import dev.peft4j.core.task.SequenceClassifier;
import dev.peft4j.core.text.TextTokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Fine-tunes a wrapped model in one call, as Hugging Face's {@code Trainer(model, args,
 * train_dataset, eval_dataset).train()}: the task follows from the model, batches, loss and
 * evaluation are wired, and {@link AdapterTrainer} runs the loop.
 *
 * <pre>{@code
 * List<LabeledText> train = List.of(new LabeledText("good tea", "good"), new LabeledText("bad tea", "bad"));
 * FineTuner tuner = FineTuner.builder()
 *         .setModel(model)                     // e.g. a PEFT model: trains what is not frozen
 *         .setTrainData(train)                 // records, an Iterable, a file or a dataset
 *         .optEvalData(test)
 *         .optTokenizer(tokenizer)
 *         .optArguments(TrainingArguments.builder().optEpochs(2).build())
 *         .build();
 * TrainingResult result = tuner.fit();
 * EvaluationResult metrics = tuner.evaluate(test);  // accuracy, macro-F1, loss
 * }</pre>
 *
 * <p><b>Task.</b> The model, or the first module of its tree (a PEFT wrapper holds the base
 * model as {@code base_model.model}), is a {@link BertForSequenceClassification} (sequence
 * classification) or a {@link LlamaForCausalLM} (causal language modelling). Running that module
 * runs the injected adapters; the trainable parameters are the model's unfrozen ones.
 *
 * <p><b>Data.</b> {@link #builder() setTrainData}/{@code optEvalData} take in-memory rows (any
 * {@code Iterable}: {@code LabeledText} for classification, {@code PromptCompletion} or {@code
 * PlainText} for causal LM, maps or JSON objects with the same fields as a file's rows), a JSONL/CSV
 * file, or a dataset built by the caller. Rows go through {@link ClassificationDataset} / {@link
 * CausalLmDataset}, so in-memory rows and a file with the same rows train identically.
 * Classification labels are the model's ({@link BertForSequenceClassification#labels()}, in head
 * order): a row with another label is a bad row. Text needs a tokenizer ({@link
 * Builder#optTokenizer}); for classification its maximum length and truncation apply, for causal
 * LM it must not add special tokens (the end-of-sequence id comes from the model's config) and
 * {@link TrainingArguments#maxLength()} cuts the sequences.
 *
 * <p><b>Memory.</b> With {@link TrainingArguments#gradientCheckpointing()} the model's layer
 * stacks are checkpointed for the run ({@link GradientCheckpointing}); a model on which it was
 * enabled directly is checkpointed whatever the arguments say.
 *
 * <p><b>Output.</b> Without an output directory nothing is written. With one, see {@link
 * TrainingArguments}; {@code best/} is written by the {@link AdapterSaver} (wire the PEFT model's
 * {@code save} so that it is an adapter directory).
 */
public final class FineTuner {

    private final Module model;
    private final TrainingTask task;
    private final SequenceClassifier classifier;
    private final CausalLanguageModel languageModel;
    private final LabelSet labels;
    private final LlamaForCausalLM llama;
    private final TrainingArguments args;
    private final TextTokenizer tokenizer;
    private final PretrainedAssets assets;
    private final Object trainData;
    private final Object evalData;
    private final AdapterSaver adapterSaver;
    private final Long bosTokenId;
    private final List<StepListener> listeners;
    private volatile AdapterTrainer running;

    private FineTuner(Builder b, Module taskModel) {
        this.model = b.model;
        this.args = b.arguments;
        this.tokenizer = b.tokenizer;
        this.assets = taskModel instanceof BertForSequenceClassification bert ? bert.assets()
                : ((LlamaForCausalLM) taskModel).assets();
        this.trainData = b.trainData;
        this.evalData = b.evalData;
        this.adapterSaver = b.adapterSaver != null ? b.adapterSaver
                : b.model instanceof PeftModel<?> peft ? peft::save : null;
        this.bosTokenId = b.bosTokenId != null ? b.bosTokenId : configuredBos(assets);
        this.listeners = List.copyOf(b.listeners);
        if (taskModel instanceof BertForSequenceClassification bert) {
            this.task = TrainingTask.SEQUENCE_CLASSIFICATION;
            this.classifier = (ps, batch, training) ->
                    bert.forward(ps, batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds(), training);
            this.labels = LabelSet.of(bert.labels());
            this.languageModel = null;
            this.llama = null;
        } else {
            LlamaForCausalLM lm = (LlamaForCausalLM) taskModel;
            this.task = TrainingTask.CAUSAL_LM;
            this.languageModel = (ps, batch, training) ->
                    lm.forward(ps, batch.inputIds(), batch.attentionMask(), null, null, training).logits();
            this.llama = lm;
            this.classifier = null;
            this.labels = null;
        }
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the task, following from the model */
    public TrainingTask task() {
        return task;
    }

    /** @return the arguments of the run */
    public TrainingArguments arguments() {
        return args;
    }

    /**
     * Trains the model's trainable parameters in place on the training data, evaluating on the
     * evaluation data (if any) at every epoch end and every {@link TrainingArguments#evalEvery()}
     * steps.
     *
     * @return the losses, the last evaluation's metrics, the best metric and where things went
     * @throws IOException when data cannot be read or the output directory cannot be written
     * @throws dev.peft4j.core.data.DataException for a bad row, naming its source and line
     * @throws IllegalStateException when the output directory holds a run and neither resuming nor
     *     overwriting is allowed, or the model has nothing to train
     * @throws java.nio.file.NoSuchFileException when resuming without a checkpoint
     * @throws IllegalStateException with gradient checkpointing and a prefix-tuning adapter ({@code
     *     PREFIX_TUNING does not work with gradient checkpointing ...})
     */
    public TrainingResult fit() throws IOException {
        TrainingConfig config = args.toTrainingConfig(task.bestMetric(), task.higherIsBetter());
        AdapterTrainer.Builder b = AdapterTrainer.builder().setModel(model).setConfig(config);
        if (task == TrainingTask.SEQUENCE_CLASSIFICATION) {
            ClassificationDataset train = classificationData(trainData);
            b.setBatchSampler(sampler(train.lengths())).setTrainStep(ClassificationTask.trainStep(train, classifier));
            if (evalData != null) {
                b.optEvaluator(ClassificationTask.evaluator(classificationData(evalData), classifier,
                        args.evalBatchSize()));
            }
        } else {
            CausalLmDataset train = causalLmData(trainData);
            b.setBatchSampler(sampler(train.lengths())).setTrainStep(CausalLmTask.trainStep(train, languageModel));
            if (evalData != null) {
                b.optEvaluator(CausalLmTask.evaluator(causalLmData(evalData), languageModel, args.evalBatchSize()));
            }
        }
        if (adapterSaver != null) {
            b.optBestSaver(adapterSaver);
        }
        listeners.forEach(b::addListener);
        AdapterTrainer trainer = b.build();
        Map<LayerStack, Boolean> checkpointing = new LinkedHashMap<>();
        if (args.gradientCheckpointing()) {
            GradientCheckpointing.stacks(model).forEach(s -> checkpointing.put(s, s.isEnabled()));
            GradientCheckpointing.enable(model);
        }
        running = trainer;
        try {
            if (args.resumeFromCheckpoint()) {
                return trainer.resume();
            }
            if (args.overwriteOutputDir()) {
                OutputDirs.clearPreviousRun(args.outputDir());
            }
            return trainer.train();
        } finally {
            running = null;
            checkpointing.forEach(LayerStack::setEnabled); // as the model was before the run
        }
    }

    /**
     * Asks a running {@link #fit()} (on another thread) to stop after the current step; it then
     * writes a checkpoint (with an output directory) and returns with {@link
     * TrainingResult#stoppedEarly()} set.
     */
    public void requestStop() {
        AdapterTrainer t = running;
        if (t != null) {
            t.requestStop();
        }
    }

    /**
     * @return the metrics on the evaluation data given to the builder
     * @throws IOException when the data cannot be read
     * @throws IllegalStateException when no evaluation data was given
     */
    public EvaluationResult evaluate() throws IOException {
        if (evalData == null) {
            throw new IllegalStateException("no evaluation data (optEvalData); call evaluate(data)");
        }
        return evaluateData(evalData);
    }

    /**
     * Evaluates the model as it is now (inference mode).
     *
     * @param records in-memory rows, as for training
     * @return accuracy, macro-F1 and loss (classification) or loss and perplexity (causal LM)
     * @throws IOException when a row is bad
     */
    public EvaluationResult evaluate(Iterable<?> records) throws IOException {
        return evaluateData(Objects.requireNonNull(records, "records"));
    }

    /**
     * @param file a JSONL (or, for classification, CSV) file
     * @return the metrics, as {@link #evaluate(Iterable)}
     * @throws IOException when the file cannot be read or a row is bad
     */
    public EvaluationResult evaluate(Path file) throws IOException {
        return evaluateData(Objects.requireNonNull(file, "file"));
    }

    /**
     * @param data a classification dataset built with the model's labels
     * @return the metrics
     * @throws IOException never in practice (the data is in memory)
     */
    public EvaluationResult evaluate(ClassificationDataset data) throws IOException {
        return evaluateData(Objects.requireNonNull(data, "data"));
    }

    /**
     * @param data a causal-LM dataset
     * @return the metrics
     * @throws IOException never in practice (the data is in memory)
     */
    public EvaluationResult evaluate(CausalLmDataset data) throws IOException {
        return evaluateData(Objects.requireNonNull(data, "data"));
    }

    private EvaluationResult evaluateData(Object data) throws IOException {
        Device device = model.namedParameters().values().iterator().next().getArray().getDevice();
        try (NDManager manager = NDManager.newBaseManager(device)) {
            ParameterStore ps = new ParameterStore(manager, false);
            if (task == TrainingTask.SEQUENCE_CLASSIFICATION) {
                ClassificationDataset d = classificationData(data);
                ClassificationTask.ClassificationEvaluation e = ClassificationTask.evaluate(ps, manager, d, classifier,
                        args.evalBatchSize());
                ClassificationMetrics m = e.metrics();
                return EvaluationResult.classification(e.loss(), m.accuracy(), m.macroF1(), d.size());
            }
            CausalLmTask.CausalLmEvaluation e = CausalLmTask.evaluate(ps, manager, causalLmData(data), languageModel,
                    args.evalBatchSize());
            return EvaluationResult.causalLm(e.loss(), e.tokens());
        }
    }

    private BatchSampler sampler(int[] lengths) {
        return new LengthBucketBatchSampler(lengths, args.batchSize(), TrainingDefaults.BUCKET_CHUNK, false);
    }

    private ClassificationDataset classificationData(Object data) throws IOException {
        if (data instanceof ClassificationDataset d) {
            return d;
        }
        if (data instanceof CausalLmDataset) {
            throw new IllegalArgumentException("the model is a sequence classifier but the data is a CausalLmDataset");
        }
        TextTokenizer own = tokenizer == null ? modelTokenizer(true) : null;
        try {
            ClassificationDataset.Builder b = ClassificationDataset.builder()
                    .setTokenizer(own != null ? own : requireTokenizer()).optLabels(labels);
            return (data instanceof Path p ? b.setFile(p) : b.setRecords((Iterable<?>) data)).build();
        } finally {
            if (own != null) {
                own.close();
            }
        }
    }

    private CausalLmDataset causalLmData(Object data) throws IOException {
        if (data instanceof CausalLmDataset d) {
            return d;
        }
        if (data instanceof ClassificationDataset) {
            throw new IllegalArgumentException("the model is a causal LM but the data is a ClassificationDataset");
        }
        CausalLmDataset.Builder b = CausalLmDataset.builder().setMaxLength(args.maxLength())
                .optVocabSize(llama.config().vocabSize());
        TextTokenizer own = tokenizer == null ? modelTokenizer(false) : null;
        if (tokenizer != null || own != null) {
            b.optEncoder(SegmentEncoder.of(own != null ? own : tokenizer));
        }
        if (!llama.config().eosTokenIds().isEmpty()) {
            b.optEosTokenId(llama.config().eosTokenIds().get(0));
        }
        if (bosTokenId != null) {
            b.optBosTokenId(bosTokenId);
        }
        try {
            return (data instanceof Path p ? b.setFile(p) : b.setRecords((Iterable<?>) data)).build();
        } finally {
            if (own != null) {
                own.close();
            }
        }
    }

    private TextTokenizer requireTokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException("text data needs a tokenizer (optTokenizer): the model was not loaded"
                    + " with fromPretrained from a directory holding tokenizer.json");
        }
        return tokenizer;
    }

    /**
     * A tokenizer built from the {@code tokenizer.json} the model was loaded with ({@code
     * fromPretrained}); the caller closes it once the data set is built (data sets tokenize once).
     *
     * @param classification true: special tokens added, truncated to the arguments' max length;
     *     false: as the causal-LM data set wants it (segments never cut, no special tokens)
     * @return the tokenizer, or null when the model came without one
     */
    private TextTokenizer modelTokenizer(boolean classification) throws IOException {
        byte[] json = assets == null ? null : assets.tokenizerFiles().get("tokenizer.json");
        if (json == null) {
            return null;
        }
        TextTokenizer.Builder b = TextTokenizer.builder()
                .setTokenizerJson(new String(json, StandardCharsets.UTF_8), assets.config().source());
        return classification ? b.setMaxLength(args.maxLength()).build()
                : b.setMaxLength(1 << 20).optTruncation(false).optAddSpecialTokens(false).build();
    }

    /** @return {@code bos_token_id} of the model's config.json, or null */
    private static Long configuredBos(PretrainedAssets assets) {
        if (assets == null) {
            return null;
        }
        int bos = assets.config().optInt("bos_token_id", -1);
        return bos >= 0 ? (long) bos : null;
    }

    /** Builder of {@link FineTuner}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private Module model;
        private Object trainData;
        private Object evalData;
        private TrainingArguments arguments = TrainingArguments.defaults();
        private TextTokenizer tokenizer;
        private AdapterSaver adapterSaver;
        private Long bosTokenId;
        private final List<StepListener> listeners = new ArrayList<>();

        private Builder() {}

        /**
         * @param model the wrapped model (a PEFT model, or a base model with frozen and trainable
         *     parameters); it or a module of its tree is a {@link BertForSequenceClassification} or
         *     a {@link LlamaForCausalLM} (required)
         * @return this builder
         */
        public Builder setModel(Module model) {
            this.model = model;
            return this;
        }

        /**
         * @param records in-memory training rows (required, or another {@code setTrainData})
         * @return this builder
         */
        public Builder setTrainData(Iterable<?> records) {
            this.trainData = records;
            return this;
        }

        /**
         * @param file a JSONL (or, for classification, CSV) training file
         * @return this builder
         */
        public Builder setTrainData(Path file) {
            this.trainData = file;
            return this;
        }

        /**
         * @param data training examples tokenized by the caller (its labels must be the model's)
         * @return this builder
         */
        public Builder setTrainData(ClassificationDataset data) {
            this.trainData = data;
            return this;
        }

        /**
         * @param data training sequences tokenized by the caller
         * @return this builder
         */
        public Builder setTrainData(CausalLmDataset data) {
            this.trainData = data;
            return this;
        }

        /**
         * @param records in-memory evaluation rows (default: none, no evaluation during fit)
         * @return this builder
         */
        public Builder optEvalData(Iterable<?> records) {
            this.evalData = records;
            return this;
        }

        /**
         * @param file a JSONL (or CSV) evaluation file
         * @return this builder
         */
        public Builder optEvalData(Path file) {
            this.evalData = file;
            return this;
        }

        /**
         * @param data evaluation examples tokenized by the caller
         * @return this builder
         */
        public Builder optEvalData(ClassificationDataset data) {
            this.evalData = data;
            return this;
        }

        /**
         * @param data evaluation sequences tokenized by the caller
         * @return this builder
         */
        public Builder optEvalData(CausalLmDataset data) {
            this.evalData = data;
            return this;
        }

        /**
         * @param arguments the run's settings (default {@link TrainingArguments#defaults()})
         * @return this builder
         */
        public Builder optArguments(TrainingArguments arguments) {
            this.arguments = arguments;
            return this;
        }

        /**
         * @param tokenizer turns text rows into ids (default: one built from the {@code
         *     tokenizer.json} the model was loaded with by {@code fromPretrained}, truncating
         *     classification texts to the arguments' max length; required for text rows when the
         *     model has none). The caller keeps ownership and closes it
         * @return this builder
         */
        public Builder optTokenizer(TextTokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /**
         * @param adapterSaver writes the best adapter into {@code best/} (default: the model's
         *     {@link PeftModel#save} when it is a {@code PeftModel}, giving a PEFT adapter
         *     directory; otherwise every trainable parameter in {@code trainable.safetensors})
         * @return this builder
         */
        public Builder optAdapterSaver(AdapterSaver adapterSaver) {
            this.adapterSaver = adapterSaver;
            return this;
        }

        /**
         * @param bosTokenId causal LM: the id prepended to text rows (default: the model's {@code
         *     bos_token_id} when it was loaded with {@code fromPretrained}, else none)
         * @return this builder
         */
        public Builder optBosTokenId(long bosTokenId) {
            this.bosTokenId = bosTokenId;
            return this;
        }

        /**
         * @param listener observes steps and evaluations; may be added several times
         * @return this builder
         */
        public Builder addListener(StepListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * @return the tuner
         * @throws NullPointerException naming a missing required field
         * @throws IllegalArgumentException when the model is neither a sequence classifier nor a
         *     causal LM
         */
        public FineTuner build() {
            Objects.requireNonNull(model, "model is required (setModel)");
            Objects.requireNonNull(trainData, "training data is required (setTrainData)");
            Objects.requireNonNull(arguments, "arguments must not be null");
            return new FineTuner(this, taskModel(model));
        }

        private static Module taskModel(Module model) {
            for (Module m : model.namedModules().values()) {
                if (m instanceof BertForSequenceClassification || m instanceof LlamaForCausalLM) {
                    return m;
                }
            }
            throw new IllegalArgumentException("cannot tell the task of a " + model.getClass().getSimpleName()
                    + ": neither it nor a module of its tree is a BertForSequenceClassification or a"
                    + " LlamaForCausalLM");
        }
    }
}
