package dev.peft4j.core.train;

import ai.djl.engine.Engine;
import dev.peft4j.core.nn.DropoutStream;

/**
 * Deterministic randomness derived from a run seed, in the manner of SplitMix64: every value is a
 * pure function of {@code (seed, parts...)}, so a resumed run can recreate the randomness of any
 * step without saved generator state (DJL exposes none).
 *
 * <p>Streams used by the trainer: {@link #STREAM_SHUFFLE} with the epoch for the data order, and
 * {@link #STREAM_ENGINE} with the step and micro-batch for the seed of the calling thread's
 * dropout stream and of the engine set before every forward pass ({@link #seedEngine}).
 */
public final class StepRandom {

    /** Stream id of per-epoch data shuffling. */
    public static final long STREAM_SHUFFLE = 1;

    /** Stream id of the dropout and engine (PyTorch) seed set before each micro-batch. */
    public static final long STREAM_ENGINE = 2;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private long state;

    private StepRandom(long state) {
        this.state = state;
    }

    /**
     * A generator whose sequence depends only on the seed and the parts.
     *
     * @param seed the run seed
     * @param parts further coordinates, e.g. stream id, step, micro-batch
     * @return the generator
     */
    public static StepRandom of(long seed, long... parts) {
        return new StepRandom(derive(seed, parts));
    }

    /**
     * Derives a 64-bit seed from a seed and coordinates, each mixed in with SplitMix64.
     *
     * @param seed the run seed
     * @param parts further coordinates
     * @return the derived seed
     */
    public static long derive(long seed, long... parts) {
        long h = mix(seed + GOLDEN);
        for (long p : parts) {
            h = mix(h ^ mix(p + GOLDEN));
        }
        return h;
    }

    /**
     * Seeds the randomness of one micro-batch of one step: keys the calling thread's {@link
     * DropoutStream} with {@code d = derive(seed, STREAM_ENGINE, step, microBatch)} (the seeds of
     * the float32 CPU dropout masks drawn on this thread) and seeds the engine's generator with
     * {@code d} folded to 32 bits (PyTorch {@code manual_seed}: {@code torch.dropout} on other
     * arrays and {@code random*} ops).
     *
     * <p>Thread safety: the dropout stream is the calling thread's own, so loops training at once
     * on several threads of one JVM (Spark {@code local[n]}, executors with several cores) each get
     * the masks of a single-threaded run. The engine's generator is process-global: what draws from
     * it stays reproducible only while one thread trains. The stream stays keyed on this thread
     * until {@link DropoutStream#clear()} (the trainers clear it when their run ends).
     *
     * @param seed the run seed
     * @param step the optimizer step, 1-based
     * @param microBatch the micro-batch within the step, 0-based
     */
    public static void seedEngine(long seed, long step, int microBatch) {
        long d = derive(seed, STREAM_ENGINE, step, microBatch);
        DropoutStream.seed(d);
        Engine.getInstance().setRandomSeed((int) (d ^ (d >>> 32)));
    }

    /** @return the next 64 random bits */
    public long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /**
     * @param bound exclusive upper bound, positive
     * @return a uniform int in {@code [0, bound)}
     */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        // Lemire's multiply-shift with rejection: unbiased.
        long m = (nextLong() >>> 32) * bound;
        long low = m & 0xFFFFFFFFL;
        if (low < bound) {
            long threshold = (0x1_0000_0000L - bound) % bound;
            while (low < threshold) {
                m = (nextLong() >>> 32) * bound;
                low = m & 0xFFFFFFFFL;
            }
        }
        return (int) (m >>> 32);
    }

    /** @return a uniform double in {@code [0, 1)} */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /**
     * Shuffles in place (Fisher–Yates).
     *
     * @param values the array to shuffle
     */
    public void shuffle(int[] values) {
        for (int i = values.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = values[i];
            values[i] = values[j];
            values[j] = t;
        }
    }

    /**
     * @param n the size
     * @return a random permutation of {@code 0..n-1}
     */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        shuffle(p);
        return p;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
