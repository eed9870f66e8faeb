package dev.peft4j.core.model.hooks;

/** A model whose {@link PeftHooks} can be reached directly ({@code model.hooks()}). */
public interface HasPeftHooks {

    /** @return the hooks of this model (a view: changes apply to the model at once) */
    PeftHooks hooks();
}
