package dev.peft4j.core.model.hooks;

import java.util.Objects;

/** The place a model module keeps the {@link ResidualHook} of one residual connection (none by default). */
public final class ResidualSlot {

    private final Sublayer sublayer;
    private ResidualHook hook;

    /** @param sublayer which sublayer's residual this is */
    public ResidualSlot(Sublayer sublayer) {
        this.sublayer = Objects.requireNonNull(sublayer, "sublayer");
    }

    /** @return which sublayer's residual this is */
    public Sublayer sublayer() {
        return sublayer;
    }

    /** @return the installed hook, or {@code null} */
    public ResidualHook hook() {
        return hook;
    }

    /** @param hook the hook, or {@code null} to remove it */
    public void setHook(ResidualHook hook) {
        this.hook = hook;
    }
}
