package dev.peft4j.core.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Inverted dropout on the CPU with the mask drawn on the host: {@code y = x · m}, {@code m_i = 1/(1-p)}
 * when {@code u_i ≥ p}, else 0.
 *
 * <p>{@code u_i} is the {@code i}-th 32-bit uniform of a stream keyed by one 64-bit seed per call,
 * which is drawn by {@link DropoutMasks#engine()}'s {@link DropoutMasks#passSeed}: from the calling
 * thread's {@link DropoutStream} while a trainer keys it (so concurrent training loops do not
 * disturb each other), else from the engine's generator, so that {@code Engine.setRandomSeed}
 * fixes the masks exactly as it fixes {@code torch.dropout}'s. The per-layer reseeding of gradient
 * checkpointing re-keys both. Element {@code i} belongs to chunk {@code i / 2^16},
 * whose values come from {@code new SplittableRandom(seed + γ·chunk)}, two per {@code nextLong} (high
 * half first), so the mask does not depend on how many threads fill it.
 *
 * <p>Why: on a CPU that is not Intel's, PyTorch's {@code bernoulli_} (which {@code torch.dropout}
 * runs, then a scaling pass, then the product) draws one double per element serially from its
 * Mersenne twister — 18% of a MiniLM LoRA training step (docs/benchmarks.md). Here the mask is
 * written straight into the native array by up to {@code torch.get_num_threads()} threads, scaled
 * already, and one product remains. The product is recorded for autograd as {@code torch.dropout}'s
 * last one is, so {@code ∂y/∂x = m}.
 */
final class HostMaskDropout {

    /** Elements per chunk: one stream and one unit of parallel work. */
    static final int CHUNK = 1 << 16;

    /** The most elements whose float32 memory one {@code ByteBuffer} can address. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE / Float.BYTES;

    private static final long GAMMA = 0x9E3779B97F4A7C15L;
    private static final ThreadLocal<float[]> BUFFER = ThreadLocal.withInitial(() -> new float[CHUNK]);

    private HostMaskDropout() {}

    /**
     * @param x the input
     * @param rate the drop probability, in {@code (0, 1)}
     * @return whether {@link #apply} handles {@code x}: a float32 array on the CPU of under 2 GiB
     *     (other arrays go to {@code torch.dropout})
     */
    static boolean supports(NDArray x, float rate) {
        return x.getDataType() == DataType.FLOAT32 && x.getDevice().getDeviceType().equals(Device.Type.CPU)
                && x.size() <= MAX_ELEMENTS && rate > 0f && rate < 1f;
    }

    /**
     * @param x a float32 CPU array
     * @param rate the drop probability, in {@code (0, 1)}
     * @return {@code x} times the mask, in {@code x}'s manager
     */
    static NDArray apply(NDArray x, float rate) {
        NDManager manager = x.getManager();
        long seed = DropoutMasks.engine().passSeed(manager);
        NDArray mask = manager.create(x.getShape(), DataType.FLOAT32);
        fill(mask.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer(), mask.size(), rate, seed,
                JniUtils.getNumThreads());
        return x.mul(mask);
    }

    /**
     * Writes the scaled mask of {@code n} elements.
     *
     * @param out where to write (the mask array's memory)
     * @param n the number of elements
     * @param rate the drop probability
     * @param seed the call's seed
     * @param threads how many threads may fill chunks at once
     */
    static void fill(FloatBuffer out, long n, float rate, long seed, int threads) {
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("host-mask dropout supports at most " + MAX_ELEMENTS
                    + " elements, got " + n);
        }
        long chunks = (n + CHUNK - 1) / CHUNK;
        long threshold = (long) Math.ceil(rate * 4294967296.0);
        float keep = 1f / (1f - rate);
        int workers = (int) Math.max(1, Math.min(Math.min(threads, Runtime.getRuntime().availableProcessors()),
                chunks));
        if (workers == 1) {
            for (int c = 0; c < chunks; c++) {
                fillChunk(out, n, c, threshold, keep, seed);
            }
            return;
        }
        IntStream.range(0, workers).parallel().forEach(w -> {
            for (long c = w; c < chunks; c += workers) {
                fillChunk(out, n, (int) c, threshold, keep, seed);
            }
        });
    }

    private static void fillChunk(FloatBuffer out, long n, int chunk, long threshold, float keep, long seed) {
        float[] buf = BUFFER.get();
        long start = (long) chunk * CHUNK;
        int len = (int) Math.min(CHUNK, n - start);
        SplittableRandom random = new SplittableRandom(seed + GAMMA * chunk);
        int i = 0;
        for (; i + 1 < len; i += 2) {
            long bits = random.nextLong();
            buf[i] = (bits >>> 32) >= threshold ? keep : 0f;
            buf[i + 1] = (bits & 0xFFFFFFFFL) >= threshold ? keep : 0f;
        }
        if (i < len) {
            buf[i] = (random.nextLong() >>> 32) >= threshold ? keep : 0f;
        }
        out.put((int) start, buf, 0, len);
    }
}
