package dev.peft4j.core.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The optimizers by name, as {@code --optim} and {@link TrainingArguments.Builder#optOptimizer(
 * OptimizerType)} take them (Hugging Face's {@code TrainingArguments.optim} names in brackets).
 */
public enum OptimizerType {
    /** {@link AdamW}, as {@code torch.optim.AdamW} ({@code adamw_torch}). */
    ADAMW("adamw"),
    /** {@link BnbAdamW} with 8-bit states ({@code adamw_bnb_8bit}). */
    ADAMW_8BIT("adamw-8bit"),
    /** {@link BnbAdamW} with float32 states off the Java heap ({@code paged_adamw_32bit}). */
    PAGED_ADAMW("paged-adamw"),
    /** {@link BnbAdamW} with 8-bit states off the Java heap ({@code paged_adamw_8bit}). */
    PAGED_ADAMW_8BIT("paged-adamw-8bit"),
    /** {@link Sgd}: plain SGD, no momentum, no weight decay ({@code sgd}). */
    SGD("sgd");

    private final String cliName;

    OptimizerType(String cliName) {
        this.cliName = cliName;
    }

    /** @return the name, e.g. {@code paged-adamw-8bit} */
    public String cliName() {
        return cliName;
    }

    /**
     * @param name a name as {@link #cliName()} (case-insensitive; {@code _} for {@code -} accepted)
     * @return the type
     * @throws IllegalArgumentException naming the accepted names
     */
    public static OptimizerType fromName(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (OptimizerType t : values()) {
            if (t.cliName.equals(n)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown optimizer '" + name + "'; expected one of "
                + Arrays.stream(values()).map(OptimizerType::cliName).collect(Collectors.joining(", ")));
    }

    /** @return the optimizer with its defaults (AdamW family: weight decay 0.01; paged: off-heap buffers) */
    public ParameterOptimizer create() {
        return switch (this) {
            case ADAMW -> AdamW.builder().build();
            case ADAMW_8BIT -> BnbAdamW.builder().build();
            case PAGED_ADAMW -> BnbAdamW.builder().optBits(32).optPaged(true).build();
            case PAGED_ADAMW_8BIT -> BnbAdamW.builder().optPaged(true).build();
            case SGD -> Sgd.builder().build();
        };
    }
}
