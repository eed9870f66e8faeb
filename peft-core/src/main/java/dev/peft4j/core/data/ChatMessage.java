package dev.peft4j.core.data;

import java.util.Objects;

/**
 * One message of a conversation, as in the {@code messages} field of chat data.
 *
 * @param role e.g. {@code system}, {@code user}, {@code assistant}; not blank
 * @param content the text (may be empty)
 */
public record ChatMessage(String role, String content) {

    /** The role whose messages are trained on. */
    public static final String ASSISTANT = "assistant";

    /** Checks the fields. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.isBlank()) {
            throw new IllegalArgumentException("role must not be blank");
        }
    }

    /** @return whether this is an assistant message (trained on) */
    public boolean isAssistant() {
        return ASSISTANT.equals(role);
    }
}
