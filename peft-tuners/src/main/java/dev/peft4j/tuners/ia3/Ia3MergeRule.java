package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.merge.AdapterTensors;
import dev.peft4j.core.merge.TensorMergeRule;
import dev.peft4j.core.peft.AdapterFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * IA³'s per-tensor merge for the streaming export, the same arithmetic as {@link Ia3Linear#merge}:
 *
 * <pre>
 *   W' = W ⊙ l     l: [out, 1] scales output rows (and b' = b ⊙ l), [1, in] scales input columns (feed-forward)
 * </pre>
 *
 * <p>Keys are PEFT's {@code base_model.model.<path>.ia3_l}; the vector's shape says which kind it
 * is ({@code [1, in]} for a {@code feedforward_modules} layer, {@code [out, 1]} otherwise). Any other
 * key (a {@code modules_to_save} tensor) replaces the base tensor of the same name.
 */
public final class Ia3MergeRule implements TensorMergeRule {

    private static final String PREFIX = AdapterFiles.TUNER_PREFIX;

    /** What one changed base tensor needs: the vector's key, and whether it is a bias. */
    private record Change(String key, boolean bias) {}

    private final AdapterTensors tensors;
    private final Map<String, Change> changes = new LinkedHashMap<>();

    private Ia3MergeRule(AdapterTensors tensors) {
        this.tensors = tensors;
    }

    /**
     * @param dir an IA³ adapter directory
     * @return the rule; close it when done
     * @throws IOException when the files cannot be read
     */
    public static Ia3MergeRule open(Path dir) throws IOException {
        Ia3ConfigJson.read(dir.resolve(AdapterFiles.CONFIG_FILE)); // validates the config
        AdapterTensors tensors = AdapterTensors.open(dir);
        Ia3MergeRule rule = new Ia3MergeRule(tensors);
        for (String k : tensors.weights().names()) {
            if (!k.startsWith(PREFIX)) {
                tensors.close();
                throw new IllegalArgumentException(tensors.weights().location() + ": key '" + k + "' is not under '"
                        + PREFIX + "' (PEFT's layout for IA3)");
            }
            String rest = k.substring(PREFIX.length());
            if (rest.endsWith(Ia3Method.KEY_SUFFIX)) {
                rule.changes.put(rest.substring(0, rest.length() - Ia3Method.KEY_SUFFIX.length()) + ".weight",
                        new Change(k, false));
            } else {
                tensors.replace(rest.replace(".base_layer.", "."), k);
            }
        }
        return rule;
    }

    @Override
    public String source() {
        return tensors.dir().toString();
    }

    /** The weights, the biases of output-scaled layers that have one, and replaced tensors. */
    @Override
    public Set<String> changedTensors() {
        Set<String> all = new LinkedHashSet<>(changes.keySet());
        all.addAll(tensors.replaced().keySet());
        return Collections.unmodifiableSet(all);
    }

    @Override
    public void check(TensorSource base) {
        Map<String, Change> biases = new LinkedHashMap<>();
        for (Map.Entry<String, Change> e : changes.entrySet()) {
            if (e.getValue().bias()) {
                continue;
            }
            String name = e.getKey();
            long[] w = tensors.baseShape(base, name, e.getValue().key());
            long[] l = tensors.weights().info(e.getValue().key()).shape();
            boolean rows = w.length == 2 && Arrays.equals(l, new long[] {w[0], 1});
            boolean cols = w.length == 2 && Arrays.equals(l, new long[] {1, w[1]});
            if (!rows && !cols) {
                throw new IllegalArgumentException(tensors.dir() + ": " + e.getValue().key() + " has shape "
                        + Arrays.toString(l) + " but base tensor '" + name + "' of " + base.location() + " is "
                        + Arrays.toString(w) + " (expected [" + (w.length == 2 ? w[0] : "out") + ", 1] or [1, "
                        + w[w.length - 1] + "])");
            }
            String bias = name.substring(0, name.length() - ".weight".length()) + ".bias";
            if (rows && base.contains(bias)) {
                biases.put(bias, new Change(e.getValue().key(), true));
            }
        }
        changes.putAll(biases);
        tensors.checkReplaced(base);
    }

    @Override
    public NDArray merge(String name, NDArray base, NDManager manager) throws IOException {
        NDArray replacement = tensors.replacement(name, manager);
        if (replacement != null) {
            return replacement;
        }
        Change c = changes.get(name);
        if (c == null) {
            throw tensors.notChanged(name);
        }
        NDArray l = tensors.float32(c.key(), manager);
        return base.mul(c.bias() ? l.reshape(-1) : l);
    }

    @Override
    public void close() throws IOException {
        tensors.close();
    }
}
