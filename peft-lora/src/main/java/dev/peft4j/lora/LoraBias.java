package dev.peft4j.lora;

import java.util.Locale;

/** PEFT's {@code bias}: which bias parameters train beside the adapters. */
public enum LoraBias {
    /** No bias trains ({@code "none"}, the default). */
    NONE,
    /** Every bias of the model trains and is saved with the adapter ({@code "all"}). */
    ALL,
    /** The biases of the adapted layers train and are saved ({@code "lora_only"}). */
    LORA_ONLY;

    /** @return the value in {@code adapter_config.json} */
    public String jsonValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param value {@code none}, {@code all} or {@code lora_only}
     * @return the mode
     * @throws IllegalArgumentException naming the field and the accepted values
     */
    public static LoraBias fromJson(String value) {
        for (LoraBias b : values()) {
            if (b.jsonValue().equals(value)) {
                return b;
            }
        }
        throw new IllegalArgumentException(
                "bias must be one of none, all, lora_only, got '" + value + "'");
    }
}
