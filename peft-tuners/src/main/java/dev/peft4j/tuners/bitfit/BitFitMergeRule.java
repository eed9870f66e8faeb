package dev.peft4j.tuners.bitfit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.io.TensorSources;
import dev.peft4j.core.merge.TensorMergeProvider;
import dev.peft4j.core.merge.TensorMergeRule;
import dev.peft4j.core.peft.AdapterFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * BitFit's per-tensor merge for the streaming export: the trained biases are the merged model's
 * biases ({@code W' = W}, {@code b' = b_trained}), so every saved key {@code base_model.model.<name>}
 * (the biases, and {@code modules_to_save} tensors) replaces base tensor {@code <name>}, as {@code
 * mergeAndUnload} leaves them. Its {@link Provider} is registered in {@code
 * META-INF/services/dev.peft4j.core.merge.TensorMergeProvider}.
 */
public final class BitFitMergeRule implements TensorMergeRule {

    private final Path dir;
    private final TensorSource weights;
    private final Map<String, String> replaced = new LinkedHashMap<>();

    private BitFitMergeRule(Path dir, TensorSource weights) {
        this.dir = dir;
        this.weights = weights;
    }

    /**
     * @param dir a BitFit adapter directory
     * @return the rule; close it when done
     * @throws IOException when the files cannot be read
     */
    public static BitFitMergeRule open(Path dir) throws IOException {
        BitFitConfigJson.read(dir.resolve(AdapterFiles.CONFIG_FILE)); // validates the config
        TensorSource weights = TensorSources.open(dir.resolve(AdapterFiles.WEIGHTS_FILE));
        BitFitMergeRule rule = new BitFitMergeRule(dir, weights);
        for (String k : weights.names()) {
            if (!k.startsWith(AdapterFiles.TUNER_PREFIX)) {
                weights.close();
                throw new IllegalArgumentException(weights.location() + ": key '" + k + "' is not under '"
                        + AdapterFiles.TUNER_PREFIX + "' (BitFit's layout)");
            }
            rule.replaced.put(k.substring(AdapterFiles.TUNER_PREFIX.length()), k);
        }
        return rule;
    }

    @Override
    public String source() {
        return dir.toString();
    }

    @Override
    public Set<String> changedTensors() {
        return Collections.unmodifiableSet(replaced.keySet());
    }

    @Override
    public void check(TensorSource base) {
        for (Map.Entry<String, String> e : replaced.entrySet()) {
            if (!base.contains(e.getKey())) {
                throw new IllegalArgumentException(dir + ": adapter key '" + e.getValue() + "' targets '" + e.getKey()
                        + "', which the base " + base.location() + " does not have");
            }
            long[] w = base.info(e.getKey()).shape();
            long[] r = weights.info(e.getValue()).shape();
            if (!Arrays.equals(w, r)) {
                throw new IllegalArgumentException(dir + ": " + e.getValue() + " has shape " + Arrays.toString(r)
                        + " but base tensor '" + e.getKey() + "' of " + base.location() + " has " + Arrays.toString(w));
            }
        }
    }

    @Override
    public NDArray merge(String name, NDArray base, NDManager manager) throws IOException {
        String key = replaced.get(name);
        if (key == null) {
            throw new IllegalArgumentException(dir + " does not change '" + name + "'");
        }
        NDArray v = weights.load(key, manager);
        return v.getDataType() == DataType.FLOAT32 ? v : v.toType(DataType.FLOAT32, false);
    }

    @Override
    public void close() throws IOException {
        weights.close();
    }

    /** BitFit's entry to the streaming merge ({@code peft_type} {@value BitFitConfig#PEFT_TYPE}). */
    public static final class Provider implements TensorMergeProvider {

        /** Creates the provider (stateless). */
        public Provider() {}

        @Override
        public String peftType() {
            return BitFitConfig.PEFT_TYPE;
        }

        @Override
        public TensorMergeRule open(Path adapterDir) throws IOException {
            return BitFitMergeRule.open(adapterDir);
        }
    }
}
