package dev.peft4j.core.model;

/** A Hugging Face {@code config.json} that is missing a field, has a wrong type, or is unsupported. */
public class ConfigException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** @param message names the file and the field */
    public ConfigException(String message) {
        super(message);
    }

    /**
     * @param message names the file and the problem
     * @param cause the parse failure
     */
    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
