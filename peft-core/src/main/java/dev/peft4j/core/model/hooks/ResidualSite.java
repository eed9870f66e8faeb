package dev.peft4j.core.model.hooks;

/**
 * One residual connection of a model, as {@link PeftHooks} lists them. The path is where
 * AdapterHub keeps the bottleneck layer of that site, so an adapter's saved keys are {@code
 * <path>.adapters.<name>.adapter_down.0.weight}:
 *
 * <ul>
 *   <li>BERT: {@code encoder.layer.<i>.attention.output} ({@link Sublayer#ATTENTION}) and {@code
 *       encoder.layer.<i>.output} ({@link Sublayer#FEED_FORWARD}), prefixed {@code bert.} in a
 *       classifier;
 *   <li>Llama: {@code model.layers.<i>.attention_adapters} and {@code
 *       model.layers.<i>.output_adapters} (no module lives there until a method puts one).
 * </ul>
 *
 * @param path the site's dotted path from the model {@link PeftHooks} was made for
 * @param layer the layer index
 * @param slot where the hook is kept
 */
public record ResidualSite(String path, int layer, ResidualSlot slot) {

    /** @return which sublayer's residual this is */
    public Sublayer sublayer() {
        return slot.sublayer();
    }

    /** @return the installed hook, or {@code null} */
    public ResidualHook hook() {
        return slot.hook();
    }

    /** @param hook the hook, or {@code null} to remove it */
    public void setHook(ResidualHook hook) {
        slot.setHook(hook);
    }
}
