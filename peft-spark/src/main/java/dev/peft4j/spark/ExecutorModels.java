package dev.peft4j.spark;


import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The inference models of this executor JVM, loaded once and shared read-only by its tasks.
 */
final class ExecutorModels {

    private static final Map<String, Object> SHARED = new ConcurrentHashMap<>();

    private ExecutorModels() {}

    /**
     * @param key identifies the model (base and adapter)
     * @param loader loads it on first use
     * @param <T> its type
     * @return the one instance of this JVM
     */
    @SuppressWarnings("unchecked")
    static <T> T shared(String key, Function<String, T> loader) {
        return (T) SHARED.computeIfAbsent(key, loader::apply);
    }
}
