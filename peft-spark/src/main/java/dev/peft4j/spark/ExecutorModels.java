package dev.peft4j.spark;

import dev.peft4j.core.nn.Module;

import java.io.IOException;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The models of this executor JVM, kept for its lifetime so that a base is loaded once per
 * executor, not once per task or stage:
 *
 * <ul>
 *   <li>inference models ({@link #shared}): one instance per key, shared read-only by the JVM's
 *       tasks;
 *   <li>frozen bases for training ({@link #borrow}/{@link #giveBack}): a pool, one instance per
 *       task running at the same time (replicas in one JVM, e.g. {@code local[N]}, each get their
 *       own), handed back clean after training ({@link BaseSnapshot}).
 * </ul>
 */
final class ExecutorModels {

    private static final Map<String, Object> SHARED = new ConcurrentHashMap<>();
    private static final Map<String, Deque<Module>> IDLE = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> LOADS = new ConcurrentHashMap<>();

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
     * Loads a fresh copy, counted in {@link #loads}.
     *
     * @param source the base
     * @param <M> its type
     * @return the model
     * @throws IOException when its files cannot be read
     */
    static <M extends Module> M load(ModelSource<M> source) throws IOException {
        LOADS.computeIfAbsent(source.key(), k -> new AtomicInteger()).incrementAndGet();
        return source.load();
    }

    /**
     * @param source the base
     * @param <M> its type
     * @return an idle cached base of this JVM for the caller's exclusive use, or a freshly loaded
     *     one; give it back with {@link #giveBack}, or close it
     * @throws IOException when its files cannot be read
     */
    @SuppressWarnings("unchecked")
    static <M extends Module> M borrow(ModelSource<M> source) throws IOException {
        Module idle = IDLE.computeIfAbsent(source.key(), k -> new ConcurrentLinkedDeque<>()).pollFirst();
        return idle != null ? (M) idle : load(source);
    }

    /**
     * @param source the base's source
     * @param base a base from {@link #borrow}, restored to its loaded state
     */
    static void giveBack(ModelSource<?> source, Module base) {
        IDLE.computeIfAbsent(source.key(), k -> new ConcurrentLinkedDeque<>()).addFirst(base);
    }

    /**
     * @param key a {@link ModelSource#key()}
     * @return how many times this JVM has loaded that base
     */
    static int loads(String key) {
        AtomicInteger n = LOADS.get(key);
        return n == null ? 0 : n.get();
    }
}
