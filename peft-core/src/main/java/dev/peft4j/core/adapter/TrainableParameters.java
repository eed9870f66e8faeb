package dev.peft4j.core.adapter;

import dev.peft4j.core.nn.Module;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/**
 * Counts of trainable and all parameters, printed exactly as PEFT's {@code
 * print_trainable_parameters}: {@code trainable params: 147,456 || all params: 22,860,672 ||
 * trainable%: 0.6450}.
 *
 * @param trainable scalars in parameters that require gradients
 * @param all scalars in all parameters (shared ones once, packed ones at their logical size)
 */
public record TrainableParameters(long trainable, long all) {

    /**
     * @param model the model
     * @return its counts
     */
    public static TrainableParameters of(Module model) {
        return new TrainableParameters(model.trainableParameterCount(), model.parameterCount());
    }

    /** @return {@code 100 * trainable / all}, 0 for an empty model */
    public double percent() {
        return all == 0 ? 0 : 100.0 * trainable / all;
    }

    /** @return PEFT's line, the percentage rounded half-even to four places as Python does */
    @Override
    public String toString() {
        String pct = new BigDecimal(percent()).setScale(4, RoundingMode.HALF_EVEN).toPlainString();
        return String.format(Locale.US, "trainable params: %,d || all params: %,d || trainable%%: %s",
                trainable, all, pct);
    }
}
