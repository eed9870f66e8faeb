package dev.peft4j.core.data;

import java.util.Objects;

/**
 * A piece of rendered training text and whether its tokens are trained on (loss) or only
 * conditioned on (labels masked).
 *
 * @param text the text, tokenized on its own
 * @param trained whether its tokens get labels
 */
public record Segment(String text, boolean trained) {

    /** Checks the text. */
    public Segment {
        Objects.requireNonNull(text, "text");
    }
}
