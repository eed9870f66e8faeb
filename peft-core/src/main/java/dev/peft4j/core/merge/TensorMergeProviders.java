package dev.peft4j.core.merge;

import dev.peft4j.core.peft.AdapterFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The known {@link TensorMergeProvider}s by {@code peft_type}: those on the class path ({@link
 * ServiceLoader}) and those {@linkplain #register registered}. Thread-safe.
 */
public final class TensorMergeProviders {

    private static final Map<String, TensorMergeProvider> PROVIDERS = new TreeMap<>();
    private static boolean discovered;

    private TensorMergeProviders() {}

    /**
     * @param provider a provider, replacing one of the same {@code peft_type}
     */
    public static synchronized void register(TensorMergeProvider provider) {
        discover();
        PROVIDERS.put(provider.peftType(), provider);
    }

    /**
     * @param peftType PEFT's {@code peft_type}
     * @return its provider
     * @throws UnsupportedOperationException naming the type and the known ones when none streams it
     */
    public static synchronized TensorMergeProvider forType(String peftType) {
        discover();
        TensorMergeProvider p = PROVIDERS.get(peftType);
        if (p == null) {
            throw new UnsupportedOperationException(peftType + " adapters cannot be merged by the streaming merge"
                    + " (it merges " + String.join(", ", PROVIDERS.keySet()) + ")");
        }
        return p;
    }

    /**
     * Opens the rule of an adapter directory through the provider its {@code peft_type} names.
     *
     * @param adapterDir an adapter directory
     * @return the open rule
     * @throws IOException when the files cannot be read
     */
    public static TensorMergeRule open(Path adapterDir) throws IOException {
        String type = AdapterFiles.peftType(adapterDir.resolve(AdapterFiles.CONFIG_FILE));
        return forType(type).open(adapterDir);
    }

    private static void discover() {
        if (!discovered) {
            discovered = true;
            for (TensorMergeProvider p : ServiceLoader.load(TensorMergeProvider.class,
                    TensorMergeProviders.class.getClassLoader())) {
                PROVIDERS.putIfAbsent(p.peftType(), p);
            }
        }
    }
}
