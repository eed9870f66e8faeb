package dev.peft4j.core.model.hooks;

/**
 * Which sublayer's residual connection a {@link ResidualSite} wraps; AdapterHub's locations.
 */
public enum Sublayer {
    /** After self-attention (AdapterHub's {@code mh_adapter}). */
    ATTENTION,
    /** After the feed-forward block (AdapterHub's {@code output_adapter}). */
    FEED_FORWARD
}
