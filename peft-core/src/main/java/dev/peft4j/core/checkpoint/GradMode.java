package dev.peft4j.core.checkpoint;

import ai.djl.pytorch.jni.JniUtils;

/**
 * A scope in which the engine records operations for autograd or not (PyTorch's thread-local
 * {@code torch.set_grad_enabled}); closing it restores the previous mode.
 *
 * <pre>{@code
 * try (GradMode off = GradMode.set(false)) {
 *     // operations here keep no graph and no saved activations
 * }
 * }</pre>
 */
public final class GradMode implements AutoCloseable {

    private final boolean previous;

    private GradMode(boolean previous) {
        this.previous = previous;
    }

    /**
     * @param enabled whether operations are recorded until the scope closes
     * @return the scope
     */
    public static GradMode set(boolean enabled) {
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
        return new GradMode(previous);
    }

    /** @return whether operations on this thread are recorded for autograd now */
    public static boolean isEnabled() {
        return JniUtils.isGradMode();
    }

    /** Restores the mode that was in force when the scope opened. */
    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
