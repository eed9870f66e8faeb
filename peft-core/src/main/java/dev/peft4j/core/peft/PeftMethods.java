package dev.peft4j.core.peft;

import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The known PEFT methods by {@code peft_type}: those on the class path ({@link ServiceLoader},
 * {@code META-INF/services/dev.peft4j.core.peft.PeftMethod}) and those {@linkplain #register
 * registered} explicitly. Thread-safe.
 */
public final class PeftMethods {

    private static final Map<String, PeftMethod<?>> METHODS = new TreeMap<>();
    private static boolean discovered;

    private PeftMethods() {}

    /**
     * Registers a method, replacing one of the same {@code peft_type}.
     *
     * @param method the method
     */
    public static synchronized void register(PeftMethod<?> method) {
        Objects.requireNonNull(method, "method");
        discover();
        METHODS.put(Objects.requireNonNull(method.peftType(), "peftType"), method);
    }

    /**
     * @param peftType a {@code peft_type}
     * @return the method
     * @throws IllegalArgumentException naming the type and the known ones when it is unknown
     */
    public static synchronized PeftMethod<?> forType(String peftType) {
        discover();
        PeftMethod<?> m = METHODS.get(peftType);
        if (m == null) {
            throw new IllegalArgumentException("unknown peft_type \"" + peftType + "\" (known: " + knownTypes()
                    + "; a method is found through META-INF/services/" + PeftMethod.class.getName()
                    + " or PeftMethods.register)");
        }
        return m;
    }

    /** @return the known {@code peft_type}s, sorted */
    public static synchronized Set<String> knownTypes() {
        discover();
        return new TreeSet<>(METHODS.keySet());
    }

    /**
     * The method that {@linkplain PeftMethod#recognizes recognizes} a directory without {@code
     * peft_type}, the first in {@code peft_type} order.
     *
     * @param dir an adapter directory
     * @return the method, or null when none recognizes it
     */
    static synchronized PeftMethod<?> recognizing(java.nio.file.Path dir) {
        discover();
        for (PeftMethod<?> m : METHODS.values()) {
            if (m.recognizes(dir)) {
                return m;
            }
        }
        return null;
    }

    /**
     * Reads the configuration of an adapter directory as {@link PeftModel#load} does, without
     * touching a model: through the method its {@code adapter_config.json}'s {@code peft_type}
     * names or, without {@code peft_type}, the method that recognizes the directory (AdapterHub's).
     *
     * @param dir an adapter directory
     * @return its configuration ({@link PeftConfig#peftType()} names its method)
     * @throws IllegalArgumentException for an unknown {@code peft_type} (naming it, the file and the
     *     known ones) or an invalid config, naming the field
     * @throws java.io.UncheckedIOException when the file cannot be read
     */
    public static PeftConfig readConfig(java.nio.file.Path dir) {
        return AdapterDirectory.read(Objects.requireNonNull(dir, "dir")).config();
    }

    /**
     * The method of a configuration, checked to accept its class.
     *
     * @param config a configuration
     * @param <C> its type
     * @return its method
     */
    @SuppressWarnings("unchecked")
    static <C extends PeftConfig> PeftMethod<C> forConfig(C config) {
        PeftMethod<?> m = forType(config.peftType());
        if (!m.configType().isInstance(config)) {
            throw new IllegalArgumentException("the " + config.peftType() + " method takes a "
                    + m.configType().getSimpleName() + ", got a " + config.getClass().getSimpleName());
        }
        return (PeftMethod<C>) m;
    }

    private static void discover() {
        if (!discovered) {
            discovered = true;
            for (PeftMethod<?> m : ServiceLoader.load(PeftMethod.class, PeftMethods.class.getClassLoader())) {
                METHODS.putIfAbsent(m.peftType(), m);
            }
        }
    }
}
