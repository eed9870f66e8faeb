package dev.peft4j.core.nn;

/**
 * The calling thread's stream of dropout seeds: what makes a trainer's dropout reproducible when
 * other threads of the JVM train too.
 *
 * <p>PyTorch has one CPU generator per process; two training loops on two threads (Spark's {@code
 * local[2]}, an executor with several cores, two adapters trained at once) that reseed and draw
 * from it race, and a same-seed run then gets other masks. A trainer therefore keys this
 * thread-local SplitMix64 stream ({@code s ← s + γ}, value {@code mix64(s)}, the generator of
 * {@link java.util.SplittableRandom}) with {@link #seed} before every micro-batch ({@code
 * StepRandom.seedEngine} does). While the stream is keyed, {@link DropoutMasks#engine()}'s
 * per-call seeds ({@link DropoutMasks#passSeed}, hence every float32 CPU {@link Dropout#apply}
 * mask) come from it instead of the engine's generator, and {@link DropoutMasks#forLayer} re-keys
 * it with the layer seed (so gradient checkpointing replays a layer's masks). No value then
 * depends on another thread.
 *
 * <p>Until a thread is keyed, and after {@link #clear}, nothing changes: the seeds come from the
 * engine's generator, which {@code Engine.setRandomSeed} fixes (inference and user code behave as
 * before). Dropout that runs {@code torch.dropout} (arrays that are not float32 or not on the
 * CPU) still draws from the engine's process-global generator and stays exposed to other threads.
 */
public final class DropoutStream {

    private static final long GAMMA = 0x9E3779B97F4A7C15L;

    /** The state of a keyed thread; null when the thread is not keyed. */
    private static final ThreadLocal<long[]> STATE = new ThreadLocal<>();

    private DropoutStream() {}

    /**
     * Keys the calling thread's stream; later dropout seeds drawn on this thread come from it.
     *
     * @param seed the key (e.g. a seed derived from the run seed, the step and the micro-batch)
     */
    public static void seed(long seed) {
        long[] s = STATE.get();
        if (s == null) {
            STATE.set(new long[] {seed});
        } else {
            s[0] = seed;
        }
    }

    /** Un-keys the calling thread: its dropout seeds come from the engine's generator again. */
    public static void clear() {
        STATE.remove();
    }

    /** @return whether the calling thread's stream is keyed ({@link #seed} since the last {@link #clear}) */
    public static boolean isSeeded() {
        return STATE.get() != null;
    }

    /**
     * Re-keys the calling thread's stream when it is keyed (a layer of a training pass starts);
     * does nothing otherwise.
     *
     * @param seed the new key
     */
    static void reseedIfSeeded(long seed) {
        long[] s = STATE.get();
        if (s != null) {
            s[0] = seed;
        }
    }

    /**
     * @return the next value of the calling thread's stream
     * @throws IllegalStateException when the thread is not keyed
     */
    static long next() {
        long[] s = STATE.get();
        if (s == null) {
            throw new IllegalStateException("the dropout stream of thread " + Thread.currentThread().getName()
                    + " is not seeded (DropoutStream.seed)");
        }
        s[0] += GAMMA;
        return mix(s[0]);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
