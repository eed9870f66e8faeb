package dev.peft4j.core.model.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.adapter.RowRouting;
import dev.peft4j.core.model.PretrainedAssets;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.text.TextTokenizer;
import dev.peft4j.core.text.TokenizedBatch;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The typed BERT models' batched inference: at most {@link PretrainedAssets#BATCH_SIZE} texts per
 * forward pass, each pass in a sub-manager closed before the next, so a long list never holds more
 * than one batch's arrays. The current children run, so adapters injected in place take part.
 */
final class BertInference {

    private BertInference() {}

    /** The mean-pooled embeddings' per-row L2 norm floor (as sentence-transformers' Normalize). */
    private static final float NORM_FLOOR = 1e-12f;

    static float[][] embed(BertModel model, NDManager parent, TextTokenizer tokenizer, List<String> texts,
            Pooling pooling, boolean normalize) {
        Objects.requireNonNull(pooling, "pooling");
        float[][] out = new float[texts.size()][];
        RowRouting routing = routing(model, texts.size(), "embed");
        for (int start = 0; start < texts.size(); start += PretrainedAssets.BATCH_SIZE) {
            List<String> batch = texts.subList(start, Math.min(texts.size(), start + PretrainedAssets.BATCH_SIZE));
            try (NDManager scope = parent.newSubManager();
                    RowRouting.Window w = RowRouting.window(routing, start, batch.size())) {
                TokenizedBatch tokens = tokenizer.encodeBatch(batch);
                NDArray mask = tokens.attentionMaskArray(scope);
                BertModelOutput o = model.forward(new ParameterStore(scope, false), tokens.idsArray(scope), mask,
                        tokens.typeIdsArray(scope), false);
                NDArray e = pooling.pool(o, mask);
                if (normalize) {
                    e = e.div(e.norm(new int[] {1}, true).maximum(NORM_FLOOR));
                }
                rows(e.toFloatArray(), batch.size(), out, start);
            }
        }
        return out;
    }

    static List<Prediction> predict(BertForSequenceClassification model, NDManager parent, TextTokenizer tokenizer,
            List<String> texts) {
        List<String> labels = model.labels();
        List<Prediction> out = new ArrayList<>(texts.size());
        RowRouting routing = routing(model, texts.size(), "predict");
        for (int start = 0; start < texts.size(); start += PretrainedAssets.BATCH_SIZE) {
            List<String> batch = texts.subList(start, Math.min(texts.size(), start + PretrainedAssets.BATCH_SIZE));
            float[][] logits = new float[batch.size()][];
            try (NDManager scope = parent.newSubManager();
                    RowRouting.Window w = RowRouting.window(routing, start, batch.size())) {
                TokenizedBatch tokens = tokenizer.encodeBatch(batch);
                NDArray l = model.forward(new ParameterStore(scope, false), tokens.idsArray(scope),
                        tokens.attentionMaskArray(scope), tokens.typeIdsArray(scope), false);
                rows(l.toFloatArray(), batch.size(), logits, 0);
            }
            for (float[] row : logits) {
                out.add(prediction(labels, row));
            }
        }
        return out;
    }

    /** The mixed-adapter routing in effect (its names checked against the inputs), or null. */
    private static RowRouting routing(Module model, int rows, String what) {
        RowRouting routing = RowRouting.find(model);
        if (routing != null) {
            routing.checkRows(rows, what);
        }
        return routing;
    }

    /** Softmax in double precision, then the arg-max (the first one on ties). */
    static Prediction prediction(List<String> labels, float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] e = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        float[] p = new float[logits.length];
        int best = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = (float) (e[i] / sum);
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return new Prediction(labels.get(best), best, labels, p);
    }

    private static void rows(float[] flat, int n, float[][] out, int offset) {
        int h = flat.length / n;
        for (int i = 0; i < n; i++) {
            float[] row = new float[h];
            System.arraycopy(flat, i * h, row, 0, h);
            out[offset + i] = row;
        }
    }
}
