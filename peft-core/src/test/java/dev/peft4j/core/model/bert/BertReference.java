package dev.peft4j.core.model.bert;

import java.util.Map;

/**
 * A float64 scalar-loop BERT forward written from the Hugging Face definition, independent of
 * DJL: the reference the DJL model is checked against on random weights.
 */
final class BertReference {

    private final Map<String, float[]> w;
    private final int hidden;
    private final int heads;
    private final int layers;
    private final int inter;
    private final double eps;

    BertReference(Map<String, float[]> weights, BertConfig c) {
        this.w = weights;
        this.hidden = c.hiddenSize();
        this.heads = c.numAttentionHeads();
        this.layers = c.numHiddenLayers();
        this.inter = c.intermediateSize();
        this.eps = c.layerNormEps();
    }

    /** Last hidden state [T][H] of one sequence; {@code mask[j] == 0} marks padding keys. */
    double[][] lastHidden(int[] ids, int[] mask) {
        int t = ids.length;
        double[][] h = new double[t][hidden];
        for (int i = 0; i < t; i++) {
            for (int k = 0; k < hidden; k++) {
                h[i][k] = w.get("embeddings.word_embeddings.weight")[ids[i] * hidden + k]
                        + w.get("embeddings.position_embeddings.weight")[i * hidden + k]
                        + w.get("embeddings.token_type_embeddings.weight")[k];
            }
            h[i] = layerNorm(h[i], "embeddings.LayerNorm");
        }
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            double[][] q = linear(h, p + "attention.self.query", hidden, hidden);
            double[][] k = linear(h, p + "attention.self.key", hidden, hidden);
            double[][] v = linear(h, p + "attention.self.value", hidden, hidden);
            int d = hidden / heads;
            double[][] ctx = new double[t][hidden];
            for (int head = 0; head < heads; head++) {
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        double dot = 0;
                        for (int x = 0; x < d; x++) {
                            dot += q[i][head * d + x] * k[j][head * d + x];
                        }
                        s[j] = mask[j] == 0 ? Double.NEGATIVE_INFINITY : dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < t; j++) {
                        s[j] = Math.exp(s[j] - max);
                        z += s[j];
                    }
                    for (int j = 0; j < t; j++) {
                        for (int x = 0; x < d; x++) {
                            ctx[i][head * d + x] += s[j] / z * v[j][head * d + x];
                        }
                    }
                }
            }
            double[][] a = linear(ctx, p + "attention.output.dense", hidden, hidden);
            for (int i = 0; i < t; i++) {
                for (int x = 0; x < hidden; x++) {
                    a[i][x] += h[i][x];
                }
                a[i] = layerNorm(a[i], p + "attention.output.LayerNorm");
            }
            double[][] mid = linear(a, p + "intermediate.dense", hidden, inter);
            for (double[] row : mid) {
                for (int x = 0; x < inter; x++) {
                    row[x] = 0.5 * row[x] * (1 + erf(row[x] / Math.sqrt(2)));
                }
            }
            double[][] o = linear(mid, p + "output.dense", inter, hidden);
            for (int i = 0; i < t; i++) {
                for (int x = 0; x < hidden; x++) {
                    o[i][x] += a[i][x];
                }
                o[i] = layerNorm(o[i], p + "output.LayerNorm");
            }
            h = o;
        }
        return h;
    }

    /** tanh(dense(h[0])). */
    double[] pooled(double[][] last) {
        double[] out = linear(new double[][] {last[0]}, "pooler.dense", hidden, hidden)[0];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.tanh(out[i]);
        }
        return out;
    }

    /** Mean over positions with {@code mask[i] != 0}. */
    static double[] mean(double[][] h, int[] mask) {
        double[] out = new double[h[0].length];
        int n = 0;
        for (int i = 0; i < h.length; i++) {
            if (mask[i] != 0) {
                n++;
                for (int x = 0; x < out.length; x++) {
                    out[x] += h[i][x];
                }
            }
        }
        for (int x = 0; x < out.length; x++) {
            out[x] /= n;
        }
        return out;
    }

    /** y = x·Wᵀ + b for a linear layer stored under {@code name}. */
    double[][] linear(double[][] x, String name, int in, int out) {
        float[] wt = w.get(name + ".weight");
        float[] b = w.get(name + ".bias");
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int k = 0; k < in; k++) {
                    s += x[i][k] * wt[o * in + k];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private double[] layerNorm(double[] x, String name) {
        double mu = 0;
        for (double v : x) {
            mu += v;
        }
        mu /= x.length;
        double var = 0;
        for (double v : x) {
            var += (v - mu) * (v - mu);
        }
        var /= x.length;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (x[i] - mu) / Math.sqrt(var + eps) * w.get(name + ".weight")[i] + w.get(name + ".bias")[i];
        }
        return out;
    }

    /** erf by its Maclaurin series (|x| < 5; ±1 beyond, off by less than 2e-12). */
    static double erf(double x) {
        if (Math.abs(x) >= 5) {
            return Math.signum(x);
        }
        double sum = 0;
        double term = x; // (-1)^n x^(2n+1) / n!
        for (int n = 0; n < 200; n++) {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
            if (Math.abs(term) < 1e-17 * Math.abs(sum) && n > 5) {
                break;
            }
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }
}
