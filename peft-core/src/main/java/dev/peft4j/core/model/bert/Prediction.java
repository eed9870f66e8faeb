package dev.peft4j.core.model.bert;

import java.util.List;
import java.util.Objects;

/**
 * A classifier's answer for one text: the most probable label and the softmax probability of
 * every label, in label order.
 *
 * @param label the most probable label's name
 * @param labelId its class index
 * @param labels every label's name, by class index
 * @param probabilities every label's probability, by class index (they sum to 1)
 */
public record Prediction(String label, int labelId, List<String> labels, float[] probabilities) {

    /** Checks the parts agree. */
    public Prediction {
        Objects.requireNonNull(label, "label");
        labels = List.copyOf(labels);
        if (probabilities.length != labels.size()) {
            throw new IllegalArgumentException(probabilities.length + " probabilities for " + labels.size()
                    + " labels");
        }
        probabilities = probabilities.clone();
    }

    /** @return every label's probability, by class index (a copy) */
    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }

    /**
     * @param name a label's name
     * @return its probability
     * @throws IllegalArgumentException when there is no such label
     */
    public float probability(String name) {
        int i = labels.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no label '" + name + "' (labels: " + labels + ")");
        }
        return probabilities[i];
    }

    /** @return the predicted label's probability */
    public float confidence() {
        return probabilities[labelId];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Prediction p && labelId == p.labelId && label.equals(p.label) && labels.equals(p.labels)
                && java.util.Arrays.equals(probabilities, p.probabilities);
    }

    @Override
    public int hashCode() {
        return Objects.hash(label, labelId, labels, java.util.Arrays.hashCode(probabilities));
    }

    @Override
    public String toString() {
        return "Prediction[" + label + " " + String.format(java.util.Locale.ROOT, "%.4f", confidence()) + "]";
    }
}
