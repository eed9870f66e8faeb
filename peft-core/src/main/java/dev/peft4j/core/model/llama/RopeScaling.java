package dev.peft4j.core.model.llama;

import java.util.Locale;
import java.util.Objects;

/**
 * How rotary inverse frequencies are rescaled for long contexts: none, {@code linear} (position
 * interpolation: every inverse frequency divided by {@code factor}) or {@code llama3} (low
 * frequencies divided by {@code factor}, high ones kept, a smooth blend in between), exactly as
 * Hugging Face's {@code _compute_linear_scaling_rope_parameters} and
 * {@code _compute_llama3_parameters}.
 *
 * @param type the kind of scaling
 * @param factor the scaling factor (1 for {@link Type#NONE})
 * @param lowFreqFactor llama3 only: wavelengths above {@code original / lowFreqFactor} are scaled
 * @param highFreqFactor llama3 only: wavelengths below {@code original / highFreqFactor} are kept
 * @param originalMaxPositionEmbeddings llama3 only: the context length the model was trained on
 */
public record RopeScaling(
        Type type,
        double factor,
        double lowFreqFactor,
        double highFreqFactor,
        int originalMaxPositionEmbeddings) {

    /** The supported kinds of rotary scaling. */
    public enum Type {
        /** Plain RoPE. */
        NONE,
        /** Linear position interpolation. */
        LINEAR,
        /** Llama 3.1's frequency-dependent scaling. */
        LLAMA3;

        /** @return the name used in {@code rope_scaling.rope_type} */
        public String hfName() {
            return this == NONE ? "default" : name().toLowerCase(Locale.ROOT);
        }
    }

    private static final RopeScaling NONE = new RopeScaling(Type.NONE, 1, 0, 0, 0);

    /** Validates the parameters of the chosen type. */
    public RopeScaling {
        Objects.requireNonNull(type, "type");
        if (type != Type.NONE && !(factor > 0)) {
            throw new IllegalArgumentException("rope scaling factor must be positive, got " + factor);
        }
        if (type == Type.LLAMA3) {
            if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)) {
                throw new IllegalArgumentException(
                        "llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor, got "
                                + lowFreqFactor + " and " + highFreqFactor);
            }
            if (originalMaxPositionEmbeddings <= 0) {
                throw new IllegalArgumentException(
                        "llama3 rope scaling needs a positive original_max_position_embeddings, got "
                                + originalMaxPositionEmbeddings);
            }
        }
    }

    /** @return no scaling */
    public static RopeScaling none() {
        return NONE;
    }

    /**
     * @param factor divides every inverse frequency
     * @return linear scaling
     */
    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    /**
     * @param factor divides low frequencies
     * @param lowFreqFactor see {@link RopeScaling}
     * @param highFreqFactor see {@link RopeScaling}
     * @param originalMaxPositionEmbeddings see {@link RopeScaling}
     * @return llama3 scaling
     */
    public static RopeScaling llama3(
            double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
        return new RopeScaling(
                Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings);
    }

    /**
     * Applies the scaling to unscaled inverse frequencies, in float32 like PyTorch.
     *
     * @param invFreq the inverse frequencies {@code 1 / theta^(2i/d)}
     * @return the scaled inverse frequencies (a new array)
     */
    public float[] apply(float[] invFreq) {
        float[] out = invFreq.clone();
        switch (type) {
            case NONE:
                return out;
            case LINEAR:
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) (out[i] / factor);
                }
                return out;
            case LLAMA3:
                return llama3Scale(out);
            default:
                throw new AssertionError(type);
        }
    }

    private float[] llama3Scale(float[] invFreq) {
        double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
        double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
        float[] out = new float[invFreq.length];
        for (int i = 0; i < invFreq.length; i++) {
            float inv = invFreq[i];
            float wavelen = (float) (2 * Math.PI / inv);
            // inv_freq_llama = where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
            float scaled = wavelen > lowFreqWavelen ? (float) (inv / factor) : inv;
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = (float) ((originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                        / (highFreqFactor - lowFreqFactor));
                scaled = (float) ((1 - smooth) * scaled / factor + smooth * scaled);
            }
            out[i] = scaled;
        }
        return out;
    }

    @Override
    public String toString() {
        switch (type) {
            case NONE:
                return "RopeScaling(none)";
            case LINEAR:
                return "RopeScaling(linear, factor=" + factor + ")";
            default:
                return "RopeScaling(llama3, factor=" + factor + ", low_freq_factor=" + lowFreqFactor
                        + ", high_freq_factor=" + highFreqFactor + ", original_max_position_embeddings="
                        + originalMaxPositionEmbeddings + ")";
        }
    }
}
