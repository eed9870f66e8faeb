package dev.peft4j.core.task;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Accuracy and macro-F1 of predicted against true classes. Macro-F1 is the unweighted mean of the
 * per-class F1 over the classes that occur in the true or the predicted classes (as scikit-learn's
 * {@code f1_score(average='macro')}); a class with no true and no predicted example is left out,
 * and an undefined precision or recall counts as 0.
 *
 * @param accuracy the fraction predicted right
 * @param macroF1 the macro-averaged F1
 * @param count the number of examples
 */
public record ClassificationMetrics(double accuracy, double macroF1, int count) {

    /**
     * @param predicted predicted class per example
     * @param actual true class per example
     * @param numClasses the number of classes; every class index must be below it
     * @return the metrics
     */
    public static ClassificationMetrics of(int[] predicted, int[] actual, int numClasses) {
        if (predicted.length != actual.length || predicted.length == 0) {
            throw new IllegalArgumentException("need equally many predictions and labels, at least one; got "
                    + predicted.length + " and " + actual.length);
        }
        long[] tp = new long[numClasses];
        long[] predictedCount = new long[numClasses];
        long[] actualCount = new long[numClasses];
        int right = 0;
        for (int i = 0; i < predicted.length; i++) {
            int p = predicted[i];
            int a = actual[i];
            if (p < 0 || p >= numClasses || a < 0 || a >= numClasses) {
                throw new IllegalArgumentException("class index out of [0, " + numClasses + ") at example " + i);
            }
            predictedCount[p]++;
            actualCount[a]++;
            if (p == a) {
                tp[p]++;
                right++;
            }
        }
        double f1Sum = 0;
        int classes = 0;
        for (int c = 0; c < numClasses; c++) {
            if (predictedCount[c] == 0 && actualCount[c] == 0) {
                continue;
            }
            classes++;
            double denominator = predictedCount[c] + actualCount[c];
            f1Sum += 2.0 * tp[c] / denominator; // F1 = 2TP / (2TP + FP + FN)
        }
        return new ClassificationMetrics((double) right / predicted.length, f1Sum / classes, predicted.length);
    }

    /** @return {@code accuracy} and {@code macro_f1}, in that order */
    public Map<String, Double> toMap() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("accuracy", accuracy);
        m.put("macro_f1", macroF1);
        return m;
    }
}
