package dev.peft4j.core.nn;

import ai.djl.ndarray.types.Shape;

import java.util.List;
import java.util.stream.Collectors;

/**
 * What loading a state dict found, by Hugging Face names: parameters the checkpoint lacked,
 * checkpoint tensors no parameter wanted, and tensors whose shape differs from the parameter's.
 *
 * @param missing parameter paths with no tensor in the checkpoint
 * @param unexpected checkpoint names that match no parameter
 * @param mismatched tensors whose shape differs from the parameter's
 * @param loaded the number of parameters that received values
 */
public record StateDictReport(
        List<String> missing, List<String> unexpected, List<ShapeMismatch> mismatched, int loaded) {

    private static final int SHOWN = 20;

    /** Defensive copies. */
    public StateDictReport {
        missing = List.copyOf(missing);
        unexpected = List.copyOf(unexpected);
        mismatched = List.copyOf(mismatched);
    }

    /**
     * A tensor whose shape differs from the parameter it would fill.
     *
     * @param name the parameter path
     * @param expected the parameter's shape
     * @param actual the checkpoint tensor's shape
     */
    public record ShapeMismatch(String name, Shape expected, Shape actual) {
        @Override
        public String toString() {
            return name + " expected " + expected + " but checkpoint has " + actual;
        }
    }

    /** @return true when nothing is missing, unexpected or mismatched */
    public boolean isClean() {
        return missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty();
    }

    /** @return a readable summary: the loaded count, then (up to 20 of) each kind of problem */
    public String summary() {
        return loaded + " parameters loaded" + problems();
    }

    /** @return each kind of problem with up to 20 names, each part starting with "; " */
    public String problems() {
        StringBuilder sb = new StringBuilder();
        append(sb, "missing", missing);
        append(sb, "unexpected", unexpected);
        append(sb, "shape mismatch", mismatched);
        return sb.toString();
    }

    private static void append(StringBuilder sb, String what, List<?> items) {
        if (items.isEmpty()) {
            return;
        }
        sb.append("; ").append(items.size()).append(' ').append(what).append(": ");
        sb.append(items.stream().limit(SHOWN).map(Object::toString).collect(Collectors.joining(", ")));
        if (items.size() > SHOWN) {
            sb.append(", … and ").append(items.size() - SHOWN).append(" more");
        }
    }

    @Override
    public String toString() {
        return summary();
    }
}
