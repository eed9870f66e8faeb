package dev.peft4j.core.nn;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps glibc's {@code malloc} from retaining memory that PyTorch has freed.
 *
 * <p>A quantized forward pass allocates and frees a dequantized weight per layer. With glibc's
 * defaults (up to 8 arenas per core, and an {@code mmap} threshold that rises to 32 MiB once a
 * large block is freed) the freed blocks stay in the arenas: a forward pass of a 4-bit
 * TinyLlama-shape model left its process 2 GiB larger than its arrays (1.4 GiB after loading, 3.5
 * GiB after one forward pass of five tokens). {@link #limitRetention()} does at run time what
 * {@code MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576} do at start-up: at most two arenas, and
 * blocks of 1 MiB or more mapped on their own and returned to the system when freed (the same run
 * stays at 1.4 GiB). Call it once, early, before the model loads; the {@code peft4j} command line
 * does when it loads a model in 4 bits.
 *
 * <p>The price is speed: every fresh block of 1 MiB or more is a new mapping whose pages fault in
 * (the MiniLM LoRA demo trained 28% slower with the same setting; docs/benchmarks.md). It is worth
 * paying where the weights dominate memory, as in QLoRA on a large model, not for a small F32 one.
 *
 * <p>Where the C library is not glibc (macOS, Windows, musl) nothing is changed. Settings given in
 * the environment ({@code MALLOC_ARENA_MAX}, {@code MALLOC_MMAP_THRESHOLD_}) are left as they are.
 */
public final class NativeAllocator {

    private static final Logger LOG = LoggerFactory.getLogger(NativeAllocator.class);

    /** glibc's {@code M_MMAP_THRESHOLD} parameter of {@code mallopt}. */
    private static final int M_MMAP_THRESHOLD = -3;

    /** glibc's {@code M_ARENA_MAX} parameter of {@code mallopt}. */
    private static final int M_ARENA_MAX = -8;

    /** Arenas allowed. */
    public static final int ARENAS = 2;

    /** Blocks of this size or more are mapped on their own. */
    public static final int MMAP_THRESHOLD = 1 << 20;

    private static volatile boolean limited;

    private NativeAllocator() {}

    /**
     * Limits the allocator's arenas and sets a fixed {@code mmap} threshold (see the class
     * comment). Idempotent.
     *
     * @return whether glibc's settings are now limited (false on other C libraries or when {@code
     *     mallopt} fails)
     */
    public static synchronized boolean limitRetention() {
        if (limited) {
            return true;
        }
        if (!Platform.isLinux()) {
            return false;
        }
        try {
            Function mallopt = NativeLibrary.getProcess().getFunction("mallopt");
            boolean ok = true;
            if (System.getenv("MALLOC_ARENA_MAX") == null) {
                ok &= mallopt.invokeInt(new Object[] {M_ARENA_MAX, ARENAS}) == 1;
            }
            if (System.getenv("MALLOC_MMAP_THRESHOLD_") == null) {
                ok &= mallopt.invokeInt(new Object[] {M_MMAP_THRESHOLD, MMAP_THRESHOLD}) == 1;
            }
            limited = ok;
            LOG.debug("malloc limited to {} arenas, mmap threshold {}: {}", ARENAS, MMAP_THRESHOLD, ok);
            return ok;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            LOG.debug("malloc settings unchanged: {}", e.toString());
            return false;
        }
    }

    /**
     * Returns free memory at the top of glibc's heaps to the system ({@code malloc_trim(0)}).
     *
     * @return whether memory was released (false on other C libraries)
     */
    public static boolean trim() {
        if (!Platform.isLinux()) {
            return false;
        }
        try {
            Function trim = NativeLibrary.getProcess().getFunction("malloc_trim");
            return trim.invokeInt(new Object[] {0}) == 1;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return false;
        }
    }
}
