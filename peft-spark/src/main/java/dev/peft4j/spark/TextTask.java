package dev.peft4j.spark;

import ai.djl.ndarray.NDManager;
import dev.peft4j.core.model.bert.BertForSequenceClassification;
import dev.peft4j.core.model.bert.BertModel;
import dev.peft4j.core.model.bert.Pooling;
import dev.peft4j.core.model.bert.Prediction;
import dev.peft4j.core.model.llama.GenerationConfig;
import dev.peft4j.core.model.llama.LlamaForCausalLM;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.peft.PeftModel;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One inference partition: the base model with its adapter, loaded once per executor JVM (the
 * adapter's bytes come from a broadcast), runs over a text column in batches and appends its
 * outputs to every row. Rows whose text is null get null outputs. Tasks of one JVM share the
 * model and take turns on it.
 */
final class TextTask implements MapPartitionsFunction<Row, Row> {

    private static final long serialVersionUID = 1L;

    /** What to compute per text. */
    enum Kind {
        /** label (string) and probabilities (array of float) */
        CLASSIFY,
        /** embedding (array of float) */
        EMBED,
        /** generated text (string) */
        GENERATE
    }

    private final Kind kind;
    private final ModelSource<? extends Module> source;
    private final Broadcast<AdapterBytes> adapter;
    private final String adapterKey;
    private final int inputIndex;
    private final int batchSize;
    private final boolean normalize;
    private final int maxNewTokens;

    TextTask(Kind kind, ModelSource<? extends Module> source, Broadcast<AdapterBytes> adapter, String adapterKey,
            int inputIndex, int batchSize, boolean normalize, int maxNewTokens) {
        this.kind = kind;
        this.source = source;
        this.adapter = adapter;
        this.adapterKey = adapterKey;
        this.inputIndex = inputIndex;
        this.batchSize = batchSize;
        this.normalize = normalize;
        this.maxNewTokens = maxNewTokens;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        ThreadBackward.noGradOnThisThread();
        Module model = ExecutorModels.shared(kind + "|" + source.key() + "|" + adapterKey, k -> load());
        List<Row> out = new ArrayList<>();
        List<Row> batch = new ArrayList<>(batchSize);
        while (rows.hasNext()) {
            batch.add(rows.next());
            if (batch.size() == batchSize || !rows.hasNext()) {
                run(model, batch, out);
                batch.clear();
            }
        }
        return out.iterator();
    }

    /** Loads the base and puts the adapter on it (kept for the JVM's lifetime). */
    private Module load() {
        try {
            Module base = ExecutorModels.load(source);
            if (adapter != null) {
                Path dir = adapter.value().toTempDir();
                try {
                    PeftModel.load(base, dir, NDManager.newBaseManager());
                } finally {
                    Dirs.deleteQuietly(dir);
                }
            }
            return base;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the base model " + source, e);
        }
    }

    private void run(Module model, List<Row> rows, List<Row> out) {
        List<String> texts = new ArrayList<>();
        for (Row r : rows) {
            if (!r.isNullAt(inputIndex)) {
                texts.add(r.getString(inputIndex));
            }
        }
        List<Object[]> results = new ArrayList<>();
        synchronized (model) {
            switch (kind) {
                case CLASSIFY -> {
                    for (Prediction p : ((BertForSequenceClassification) model).predict(texts)) {
                        results.add(new Object[] {p.label(), p.probabilities()});
                    }
                }
                case EMBED -> {
                    for (float[] v : ((BertModel) model).embed(texts, Pooling.MEAN, normalize)) {
                        results.add(new Object[] {v});
                    }
                }
                case GENERATE -> {
                    for (String s : ((LlamaForCausalLM) model).generate(texts,
                            GenerationConfig.builder().setMaxNewTokens(maxNewTokens).build())) {
                        results.add(new Object[] {s});
                    }
                }
                default -> throw new IllegalStateException("unknown task " + kind);
            }
        }
        int width = kind == Kind.CLASSIFY ? 2 : 1;
        int next = 0;
        for (Row r : rows) {
            Object[] values = new Object[r.length() + width];
            for (int i = 0; i < r.length(); i++) {
                values[i] = r.get(i);
            }
            if (!r.isNullAt(inputIndex)) {
                Object[] res = results.get(next++);
                for (int i = 0; i < width; i++) {
                    values[r.length() + i] = res[i] instanceof float[] f ? boxed(f) : res[i];
                }
            }
            out.add(RowFactory.create(values));
        }
    }

    private static Float[] boxed(float[] v) {
        Float[] out = new Float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
