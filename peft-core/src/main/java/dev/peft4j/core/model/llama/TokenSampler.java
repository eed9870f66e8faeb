package dev.peft4j.core.model.llama;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from one position's logits, in Java (the vector is small): argmax for
 * greedy decoding, else temperature, top-k and top-p filtering followed by a draw from a seeded
 * {@link Random}.
 */
public final class TokenSampler {

    private final GenerationConfig config;
    private final Random random;

    /** @param config the sampling settings; its seed, if any, seeds the draws */
    public TokenSampler(GenerationConfig config) {
        this.config = config;
        this.random = config.seed() == null ? new Random() : new Random(config.seed());
    }

    /**
     * @param logits one position's logits over the vocabulary
     * @return the chosen token id
     */
    public int next(float[] logits) {
        if (config.isGreedy()) {
            return argMax(logits);
        }
        int n = logits.length;
        int[] order = descending(logits);
        int keep = n;
        if (config.topK() > 0 && config.topK() < n) {
            // Like HF: keep every token whose logit reaches the k-th largest.
            float kth = logits[order[config.topK() - 1]];
            keep = config.topK();
            while (keep < n && logits[order[keep]] >= kth) {
                keep++;
            }
        }
        double t = config.temperature();
        double max = logits[order[0]] / t;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[order[i]] / t - max);
            sum += p[i];
        }
        if (config.topP() < 1f) {
            // Keep tokens while the mass before them is below top_p (at least one).
            double before = 0;
            int nucleus = 0;
            while (nucleus < keep && before < config.topP() * sum) {
                before += p[nucleus];
                nucleus++;
            }
            keep = Math.max(1, nucleus);
            sum = before;
        }
        double r = random.nextDouble() * sum;
        double acc = 0;
        for (int i = 0; i < keep; i++) {
            acc += p[i];
            if (r < acc) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    /**
     * Indices by descending value, lower index first on ties: one primitive sort of (value, index)
     * packed into longs, fast enough for vocabularies of 10⁵ tokens at every step.
     */
    private static int[] descending(float[] logits) {
        long[] keys = new long[logits.length];
        for (int i = 0; i < logits.length; i++) {
            int bits = Float.floatToIntBits(logits[i]);
            int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // same order as the floats, as signed ints
            keys[i] = ((long) ~ordered << 32) | i;
        }
        Arrays.sort(keys);
        int[] order = new int[keys.length];
        for (int i = 0; i < keys.length; i++) {
            order[i] = (int) keys[i];
        }
        return order;
    }

    /**
     * @param logits values
     * @return the index of the largest (the first one on ties), as {@code torch.argmax}
     */
    public static int argMax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
