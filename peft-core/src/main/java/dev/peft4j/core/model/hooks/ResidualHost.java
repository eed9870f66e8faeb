package dev.peft4j.core.model.hooks;

import java.util.Map;

/**
 * A model module that computes residual connections a {@link ResidualHook} may wrap: BERT's
 * {@code BertOutput} (one, under its own path) and Llama's decoder layer (two).
 */
public interface ResidualHost {

    /**
     * @return the module's slots by the path suffix under which {@link PeftHooks} names them:
     *     {@code ""} for the module itself, else a child-like name such as {@code
     *     attention_adapters}
     */
    Map<String, ResidualSlot> residualSlots();
}
