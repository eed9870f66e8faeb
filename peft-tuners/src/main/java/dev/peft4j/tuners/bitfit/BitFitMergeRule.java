package dev.peft4j.tuners.bitfit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.merge.AdapterTensors;
import dev.peft4j.core.merge.TensorMergeProvider;
import dev.peft4j.core.merge.TensorMergeRule;
import dev.peft4j.core.peft.AdapterFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * BitFit's per-tensor merge for the streaming export: the trained biases are the merged model's
 * biases ({@code W' = W}, {@code b' = b_trained}), so every saved key {@code base_model.model.<name>}
 * (the biases, and {@code modules_to_save} tensors) replaces base tensor {@code <name>}, as {@code
 * mergeAndUnload} leaves them. Its {@link Provider} is registered in {@code
 * META-INF/services/dev.peft4j.core.merge.TensorMergeProvider}.
 */
public final class BitFitMergeRule implements TensorMergeRule {

    private final AdapterTensors tensors;

    private BitFitMergeRule(AdapterTensors tensors) {
        this.tensors = tensors;
    }

    /**
     * @param dir a BitFit adapter directory
     * @return the rule; close it when done
     * @throws IOException when the files cannot be read
     */
    public static BitFitMergeRule open(Path dir) throws IOException {
        BitFitConfigJson.read(dir.resolve(AdapterFiles.CONFIG_FILE)); // validates the config
        AdapterTensors tensors = AdapterTensors.open(dir);
        for (String k : tensors.weights().names()) {
            if (!k.startsWith(AdapterFiles.TUNER_PREFIX)) {
                tensors.close();
                throw new IllegalArgumentException(tensors.weights().location() + ": key '" + k + "' is not under '"
                        + AdapterFiles.TUNER_PREFIX + "' (BitFit's layout)");
            }
            tensors.replace(k.substring(AdapterFiles.TUNER_PREFIX.length()), k);
        }
        return new BitFitMergeRule(tensors);
    }

    @Override
    public String source() {
        return tensors.dir().toString();
    }

    @Override
    public Set<String> changedTensors() {
        return tensors.replaced().keySet();
    }

    @Override
    public void check(TensorSource base) {
        tensors.checkReplaced(base);
    }

    @Override
    public NDArray merge(String name, NDArray base, NDManager manager) throws IOException {
        NDArray v = tensors.replacement(name, manager);
        if (v == null) {
            throw tensors.notChanged(name);
        }
        return v;
    }

    @Override
    public void close() throws IOException {
        tensors.close();
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
