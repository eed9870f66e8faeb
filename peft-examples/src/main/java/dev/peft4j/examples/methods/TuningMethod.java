package dev.peft4j.examples.methods;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The PEFT methods peft4j trains, by their command-line names ({@code --method lora}), with PEFT's
 * {@code peft_type} and whether an adapter of the method can be merged into the base weights.
 */
public enum TuningMethod {
    /** LoRA ({@code peft-lora}). */
    LORA("lora", "LORA", "LoRA", true),
    /** IA³: learned vectors scaling layer outputs or feed-forward inputs. */
    IA3("ia3", "IA3", "IA³", true),
    /** Prompt tuning: trained virtual-token embeddings before the input. */
    PROMPT_TUNING("prompt-tuning", "PROMPT_TUNING", "prompt tuning", false),
    /** P-tuning: prompt tuning reparameterized by an MLP while training. */
    P_TUNING("p-tuning", "P_TUNING", "P-tuning", false),
    /** Prefix tuning: trained key/value prefixes in every attention layer. */
    PREFIX_TUNING("prefix-tuning", "PREFIX_TUNING", "prefix tuning", false),
    /** Bottleneck adapters (AdapterHub's Pfeiffer / Houlsby / parallel). */
    BOTTLENECK("bottleneck", "BOTTLENECK", "bottleneck adapters", false),
    /** BitFit: bias terms only (a peft4j adapter format). */
    BITFIT("bitfit", "BITFIT", "BitFit", true);

    private final String cliName;
    private final String peftType;
    private final String displayName;
    private final boolean mergeable;

    TuningMethod(String cliName, String peftType, String displayName, boolean mergeable) {
        this.cliName = cliName;
        this.peftType = peftType;
        this.displayName = displayName;
        this.mergeable = mergeable;
    }

    /** @return the command-line name, e.g. {@code prompt-tuning} */
    public String cliName() {
        return cliName;
    }

    /** @return the {@code peft_type} of its adapters, e.g. {@code PROMPT_TUNING} */
    public String peftType() {
        return peftType;
    }

    /** @return the name in prose, e.g. {@code prompt tuning} */
    public String displayName() {
        return displayName;
    }

    /** @return whether an adapter of this method merges into the base weights */
    public boolean mergeable() {
        return mergeable;
    }

    /** @return the command-line names joined by {@code |} */
    public static String cliNames() {
        return Arrays.stream(values()).map(TuningMethod::cliName).collect(Collectors.joining("|"));
    }

    /**
     * @param name a command-line name ({@code prefix-tuning}) or a {@code peft_type} ({@code
     *     PREFIX_TUNING}), case-insensitive
     * @return the method
     * @throws IllegalArgumentException naming the value and the known methods
     */
    public static TuningMethod parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (TuningMethod m : values()) {
            if (m.cliName.equals(n) || m.peftType.toLowerCase(Locale.ROOT).replace('_', '-').equals(n)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method '" + name + "' (expected " + cliNames() + ")");
    }
}
