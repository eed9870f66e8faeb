package dev.peft4j.spark;

import dev.peft4j.core.nn.Module;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

/**
 * The models of this executor JVM, loaded once and reused by later tasks: shared read-only models
 * for inference ({@link #shared}), and a pool of base models that a training task borrows, adapts
 * and gives back unloaded ({@link #borrow}/{@link #giveBack}).
 */
final class ExecutorModels {

    private static final Map<String, Object> SHARED = new ConcurrentHashMap<>();
    private static final Map<String, Queue<Module>> POOL = new ConcurrentHashMap<>();

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

    /**
     * @param source the base model
     * @param <M> its type
     * @return a base model of this source that no other task uses
     */
    @SuppressWarnings("unchecked")
    static <M extends Module> M borrow(ModelSource<M> source) {
        Module m = POOL.computeIfAbsent(source.key(), k -> new ConcurrentLinkedQueue<>()).poll();
        if (m != null) {
            return (M) m;
        }
        try {
            return source.load();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the base model " + source, e);
        }
    }

    /**
     * @param source the base model's source
     * @param model a model from {@link #borrow}, without adapters again
     */
    static void giveBack(ModelSource<?> source, Module model) {
        POOL.computeIfAbsent(source.key(), k -> new ConcurrentLinkedQueue<>()).add(model);
    }
}
