package dev.peft4j.core.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a conversation into {@link Segment}s; only assistant turns are trained on.
 *
 * <ul>
 *   <li>{@link #PLAIN}: {@code role: content\n} per message; the assistant's content and its
 *       newline are trained, and an end-of-sequence token follows the conversation.
 *   <li>{@link #CHATML}: {@code <|im_start|>role\ncontent<|im_end|>\n} per message (Qwen, many
 *       others); the assistant's content and its {@code <|im_end|>} are trained, as Hugging Face's
 *       assistant-only masks do; no extra end-of-sequence token. The tokenizer must know {@code
 *       <|im_start|>} and {@code <|im_end|>} as added tokens.
 * </ul>
 */
public enum ChatTemplate {
    /** {@code role: content\n}. */
    PLAIN {
        @Override
        public List<Segment> render(List<ChatMessage> messages) {
            List<Segment> out = new ArrayList<>();
            for (ChatMessage m : messages) {
                out.add(new Segment(m.role() + ": ", false));
                out.add(new Segment(m.content(), m.isAssistant()));
                out.add(new Segment("\n", m.isAssistant()));
            }
            return out;
        }

        @Override
        public boolean appendsEos() {
            return true;
        }
    },
    /** {@code <|im_start|>role\ncontent<|im_end|>\n}. */
    CHATML {
        @Override
        public List<Segment> render(List<ChatMessage> messages) {
            List<Segment> out = new ArrayList<>();
            for (ChatMessage m : messages) {
                out.add(new Segment("<|im_start|>" + m.role() + "\n", false));
                out.add(new Segment(m.content(), m.isAssistant()));
                out.add(new Segment("<|im_end|>", m.isAssistant()));
                out.add(new Segment("\n", false));
            }
            return out;
        }

        @Override
        public boolean appendsEos() {
            return false;
        }
    };

    /**
     * @param messages the conversation
     * @return its segments in order
     */
    public abstract List<Segment> render(List<ChatMessage> messages);

    /** @return whether an end-of-sequence token follows the conversation */
    public abstract boolean appendsEos();

    /**
     * @param name {@code plain} or {@code chatml}, any case
     * @return the template
     * @throws IllegalArgumentException naming the known templates
     */
    public static ChatTemplate parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown chat template '" + name + "' (known: plain, chatml)");
        }
    }
}
