package dev.peft4j.core.task;

/**
 * A multinomial logistic-regression head fitted on fixed features (e.g. frozen sentence
 * embeddings): the "linear probe" baseline of a fine-tuning run.
 *
 * <p>Features are standardized (per-dimension mean and standard deviation of the training set);
 * the weights start at zero and minimize the mean cross-entropy plus {@code l2/2 · ||W||²} by
 * full-batch Adam (learning rate 0.05), so a fit is deterministic. Plain Java; a few seconds for
 * thousands of 384-dimensional examples.
 */
public final class LinearProbe {

    private final double[] mean;
    private final double[] scale;
    private final double[][] weight;
    private final double[] bias;
    private final double finalLoss;

    private LinearProbe(double[] mean, double[] scale, double[][] weight, double[] bias, double finalLoss) {
        this.mean = mean;
        this.scale = scale;
        this.weight = weight;
        this.bias = bias;
        this.finalLoss = finalLoss;
    }

    /**
     * @param features {@code [n][d]} training features
     * @param labels class per example
     * @param numClasses the number of classes, at least 2
     * @param l2 the L2 penalty on the weights (not the bias), not negative
     * @param iterations full-batch steps, positive
     * @return the fitted head
     */
    public static LinearProbe fit(float[][] features, int[] labels, int numClasses, double l2, int iterations) {
        int n = features.length;
        if (n == 0 || labels.length != n) {
            throw new IllegalArgumentException("need as many labels as feature rows, at least one; got " + n
                    + " rows and " + labels.length + " labels");
        }
        if (numClasses < 2 || l2 < 0 || iterations <= 0) {
            throw new IllegalArgumentException("need numClasses >= 2, l2 >= 0, iterations > 0; got " + numClasses
                    + ", " + l2 + ", " + iterations);
        }
        int d = features[0].length;
        double[] mean = new double[d];
        double[] scale = new double[d];
        for (float[] row : features) {
            if (row.length != d) {
                throw new IllegalArgumentException("feature rows differ in length: " + d + " and " + row.length);
            }
            for (int j = 0; j < d; j++) {
                mean[j] += row[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= n;
        }
        for (float[] row : features) {
            for (int j = 0; j < d; j++) {
                double c = row[j] - mean[j];
                scale[j] += c * c;
            }
        }
        for (int j = 0; j < d; j++) {
            double sd = Math.sqrt(scale[j] / n);
            scale[j] = sd > 1e-12 ? 1 / sd : 1;
        }
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                x[i][j] = (features[i][j] - mean[j]) * scale[j];
            }
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new IllegalArgumentException("label " + labels[i] + " of row " + i + " is outside [0, "
                        + numClasses + ")");
            }
        }
        double[][] w = new double[numClasses][d];
        double[] b = new double[numClasses];
        Adam adam = new Adam(numClasses * (d + 1));
        double loss = Double.NaN;
        double[] logits = new double[numClasses];
        for (int it = 0; it < iterations; it++) {
            double[][] gw = new double[numClasses][d];
            double[] gb = new double[numClasses];
            loss = 0;
            for (int i = 0; i < n; i++) {
                double[] p = softmax(logits(w, b, x[i], logits));
                loss -= Math.log(Math.max(p[labels[i]], 1e-300));
                p[labels[i]] -= 1;
                for (int c = 0; c < numClasses; c++) {
                    double g = p[c] / n;
                    gb[c] += g;
                    double[] gwc = gw[c];
                    double[] xi = x[i];
                    for (int j = 0; j < d; j++) {
                        gwc[j] += g * xi[j];
                    }
                }
            }
            loss /= n;
            for (int c = 0; c < numClasses; c++) {
                for (int j = 0; j < d; j++) {
                    loss += l2 / 2 * w[c][j] * w[c][j];
                    gw[c][j] += l2 * w[c][j];
                }
            }
            adam.step(w, b, gw, gb);
        }
        return new LinearProbe(mean, scale, w, b, loss);
    }

    /** @return the training objective after the last step */
    public double finalLoss() {
        return finalLoss;
    }

    /**
     * @param features {@code [n][d]} features
     * @return the predicted class of every row
     */
    public int[] predict(float[][] features) {
        int[] out = new int[features.length];
        double[] logits = new double[bias.length];
        double[] x = new double[mean.length];
        for (int i = 0; i < features.length; i++) {
            for (int j = 0; j < mean.length; j++) {
                x[j] = (features[i][j] - mean[j]) * scale[j];
            }
            logits(weight, bias, x, logits);
            int best = 0;
            for (int c = 1; c < logits.length; c++) {
                if (logits[c] > logits[best]) {
                    best = c;
                }
            }
            out[i] = best;
        }
        return out;
    }

    private static double[] logits(double[][] w, double[] b, double[] x, double[] out) {
        for (int c = 0; c < b.length; c++) {
            double s = b[c];
            double[] wc = w[c];
            for (int j = 0; j < x.length; j++) {
                s += wc[j] * x[j];
            }
            out[c] = s;
        }
        return out;
    }

    private static double[] softmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int c = 0; c < p.length; c++) {
            p[c] = Math.exp(logits[c] - max);
            sum += p[c];
        }
        for (int c = 0; c < p.length; c++) {
            p[c] /= sum;
        }
        return p;
    }

    /** Adam over the flattened weights and biases. */
    private static final class Adam {
        private static final double LR = 0.05;
        private static final double B1 = 0.9;
        private static final double B2 = 0.999;
        private static final double EPS = 1e-8;
        private final double[] m;
        private final double[] v;
        private int t;

        Adam(int size) {
            m = new double[size];
            v = new double[size];
        }

        void step(double[][] w, double[] b, double[][] gw, double[] gb) {
            t++;
            double c1 = 1 - Math.pow(B1, t);
            double c2 = 1 - Math.pow(B2, t);
            int k = 0;
            for (int c = 0; c < w.length; c++) {
                for (int j = 0; j < w[c].length; j++, k++) {
                    w[c][j] -= update(k, gw[c][j], c1, c2);
                }
                b[c] -= update(k++, gb[c], c1, c2);
            }
        }

        private double update(int k, double g, double c1, double c2) {
            m[k] = B1 * m[k] + (1 - B1) * g;
            v[k] = B2 * v[k] + (1 - B2) * g * g;
            return LR * (m[k] / c1) / (Math.sqrt(v[k] / c2) + EPS);
        }
    }
}
