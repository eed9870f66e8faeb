package dev.peft4j.core.model.llama;

import java.util.Arrays;

/** The tokens {@link Generator} produced and why it stopped. */
public final class GenerationResult {

    /** Why generation ended. */
    public enum StopReason {
        /** An end-of-sequence token was generated (it is the last token). */
        EOS,
        /** {@code maxNewTokens} tokens were generated. */
        MAX_NEW_TOKENS
    }

    private final long[] tokens;
    private final StopReason stopReason;

    /**
     * @param tokens the generated ids (prompt excluded)
     * @param stopReason why generation ended
     */
    public GenerationResult(long[] tokens, StopReason stopReason) {
        this.tokens = tokens.clone();
        this.stopReason = stopReason;
    }

    /** @return the generated ids, prompt excluded (a copy) */
    public long[] tokens() {
        return tokens.clone();
    }

    /** @return why generation ended */
    public StopReason stopReason() {
        return stopReason;
    }

    @Override
    public String toString() {
        return "GenerationResult(" + Arrays.toString(tokens) + ", " + stopReason + ")";
    }
}
