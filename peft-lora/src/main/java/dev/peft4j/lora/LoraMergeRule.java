package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.core.io.TensorSource;
import dev.peft4j.core.merge.AdapterTensors;
import dev.peft4j.core.merge.TensorMergeRule;
import dev.peft4j.core.nn.Scalars;
import dev.peft4j.core.peft.AdapterFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * LoRA's per-tensor merge for the streaming export, the same arithmetic as {@link LoraLinear#merge}:
 *
 * <pre>
 *   W' = W + s·(B·A)                        s = alpha / r  (alpha / √r with rsLoRA; rank/alpha_pattern per path)
 *   W' = (m / ‖W + s·B·A‖_row)·(W + s·B·A)  with DoRA (magnitude m, one norm per output row)
 * </pre>
 *
 * <p>Keys are PEFT's: {@code base_model.model.<path>.lora_A.weight} and {@code .lora_B.weight} change
 * base tensor {@code <path>.weight}; {@code .lora_magnitude_vector} is DoRA's {@code m}. Any other
 * key (a trained bias, {@code base_model.model.<path>.base_layer.bias}, or a {@code
 * modules_to_save} tensor) replaces the base tensor of the same name ({@code .base_layer} dropped),
 * as the in-memory merge leaves them. {@code fan_in_fan_out} is ignored with a warning, as in the
 * in-memory merge (peft4j's and Llama's linear weights are {@code [out, in]}; PEFT resets it on
 * {@code nn.Linear} too). The adapter's tensors are read when their base tensor streams past.
 */
public final class LoraMergeRule implements TensorMergeRule {

    private static final Logger LOG = LoggerFactory.getLogger(LoraMergeRule.class);

    private static final String PREFIX = AdapterStateDict.PREFIX;
    private static final String A = ".lora_A.weight";
    private static final String B = ".lora_B.weight";
    private static final String MAGNITUDE = ".lora_magnitude_vector";

    /** One adapted layer: its keys and scaling. */
    private record Layer(String path, String a, String b, String magnitude, double scaling) {}

    private final LoraConfig config;
    private final AdapterTensors tensors;
    private final TensorSource weights;
    private final Map<String, Layer> layers = new LinkedHashMap<>();

    private LoraMergeRule(LoraConfig config, AdapterTensors tensors) {
        this.config = config;
        this.tensors = tensors;
        this.weights = tensors.weights();
    }

    /**
     * Opens an adapter directory ({@code adapter_config.json}, {@code adapter_model.safetensors}).
     *
     * @param dir the adapter directory
     * @return the rule; close it when done
     * @throws IOException when the files cannot be read
     * @throws IllegalArgumentException naming the file and key for a key outside PEFT's layout, a
     *     layer with A but no B (or the reverse), or DoRA without its magnitude
     */
    public static LoraMergeRule open(Path dir) throws IOException {
        LoraConfig config = LoraConfigJson.read(dir.resolve(AdapterFiles.CONFIG_FILE));
        if (config.fanInFanOut()) {
            LOG.warn("{}: fan_in_fan_out is set but linear weights are stored [out, in]; ignoring it", dir);
        }
        AdapterTensors tensors = AdapterTensors.open(dir);
        LoraMergeRule rule = new LoraMergeRule(config, tensors);
        try {
            rule.index();
        } catch (RuntimeException e) {
            tensors.close();
            throw e;
        }
        return rule;
    }

    private void index() {
        Map<String, String[]> found = new LinkedHashMap<>();
        for (String k : weights.names()) {
            if (!k.startsWith(PREFIX)) {
                throw new IllegalArgumentException(weights.location() + ": key '" + k + "' is not under '" + PREFIX
                        + "' (PEFT's layout for LoRA)");
            }
            String rest = k.substring(PREFIX.length());
            int slot = rest.endsWith(A) ? 0 : rest.endsWith(B) ? 1 : rest.endsWith(MAGNITUDE) ? 2 : -1;
            if (slot < 0) {
                tensors.replace(rest.replace(".base_layer.", "."), k);
                continue;
            }
            String path = rest.substring(0, rest.length() - (slot == 0 ? A : slot == 1 ? B : MAGNITUDE).length());
            found.computeIfAbsent(path, p -> new String[3])[slot] = k;
        }
        for (Map.Entry<String, String[]> e : found.entrySet()) {
            String path = e.getKey();
            String[] keys = e.getValue();
            if (keys[0] == null || keys[1] == null) {
                throw new IllegalArgumentException(weights.location() + ": layer '" + path + "' has "
                        + (keys[0] == null ? "lora_B but no lora_A" : "lora_A but no lora_B"));
            }
            if (config.useDora() && keys[2] == null) {
                throw new IllegalArgumentException(weights.location() + ": use_dora is set but layer '" + path
                        + "' has no " + PREFIX + path + MAGNITUDE);
            }
            layers.put(path + ".weight", new Layer(path, keys[0], keys[1], config.useDora() ? keys[2] : null,
                    config.scalingFor(path)));
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException(weights.location() + " holds no lora_A/lora_B tensors");
        }
    }

    /** @return the configuration read from {@code adapter_config.json} */
    public LoraConfig config() {
        return config;
    }

    @Override
    public String source() {
        return tensors.dir().toString();
    }

    @Override
    public java.util.Optional<String> baseQuantization() {
        return java.util.Optional.ofNullable(weights.metadata().get(AdapterFiles.BASE_QUANTIZATION_KEY));
    }

    @Override
    public Set<String> changedTensors() {
        Set<String> all = new java.util.LinkedHashSet<>(layers.keySet());
        all.addAll(tensors.replaced().keySet());
        return Collections.unmodifiableSet(all);
    }

    @Override
    public void check(TensorSource base) {
        for (Layer l : layers.values()) {
            String name = l.path() + ".weight";
            long[] w = tensors.baseShape(base, name, l.a());
            long[] a = weights.info(l.a()).shape();
            long[] b = weights.info(l.b()).shape();
            if (w.length != 2 || a.length != 2 || b.length != 2 || a[1] != w[1] || b[0] != w[0] || a[0] != b[1]) {
                throw new IllegalArgumentException(tensors.dir() + ": lora_A " + Arrays.toString(a) + " and lora_B "
                        + Arrays.toString(b) + " of '" + l.path() + "' do not fit base tensor '" + name + "' "
                        + Arrays.toString(w) + " of " + base.location() + " (expected A [r, " + w[w.length - 1]
                        + "], B [" + w[0] + ", r])");
            }
            if (l.magnitude() != null && !Arrays.equals(weights.info(l.magnitude()).shape(), new long[] {w[0]})) {
                throw new IllegalArgumentException(tensors.dir() + ": " + l.magnitude() + " has shape "
                        + Arrays.toString(weights.info(l.magnitude()).shape()) + " but '" + name + "' has "
                        + w[0] + " output rows");
            }
        }
        tensors.checkReplaced(base);
    }

    @Override
    public NDArray merge(String name, NDArray base, NDManager manager) throws IOException {
        NDArray replacement = tensors.replacement(name, manager);
        if (replacement != null) {
            return replacement;
        }
        Layer l = layers.get(name);
        if (l == null) {
            throw tensors.notChanged(name);
        }
        NDArray a = tensors.float32(l.a(), manager);
        NDArray b = tensors.float32(l.b(), manager);
        NDArray sum = base.add(Scalars.mul(b.matMul(a), l.scaling()));
        if (l.magnitude() == null) {
            return sum;
        }
        NDArray m = tensors.float32(l.magnitude(), manager);
        return sum.mul(m.div(sum.square().sum(new int[] {1}).sqrt()).reshape(-1, 1));
    }

    @Override
    public void close() throws IOException {
        tensors.close();
    }
}
