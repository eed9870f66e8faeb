package dev.peft4j.lora;

import java.util.Objects;

/**
 * PEFT's {@code init_lora_weights}: how a new adapter's {@code lora_A} and {@code lora_B} start.
 *
 * <ul>
 *   <li>{@code true} ({@link #DEFAULT}): A kaiming-uniform with a = √5, i.e. U(-1/√in, 1/√in);
 *       B zero, so a new adapter leaves the output unchanged.
 *   <li>{@code "gaussian"}: A ~ N(0, (1/r)²), i.e. standard deviation 1/r; B zero.
 *   <li>{@code false}: A and B both keep a linear layer's default initialization (kaiming-uniform,
 *       a = √5, of their own fan-in: B ~ U(-1/√r, 1/√r)), so the adapter is not an identity; for
 *       tests and debugging, as in PEFT.
 *   <li>{@code "pissa"}: A and B from the top r singular triplets of the base weight, which keeps
 *       the residual (PiSSA); {@code "pissa_niter_N"} uses a randomized SVD with N subspace
 *       iterations instead of the full one.
 * </ul>
 */
public final class LoraInit {

    /** The kind of initialization. */
    public enum Kind {
        /** {@code true}. */
        DEFAULT,
        /** {@code false}. */
        RANDOM,
        /** {@code "gaussian"}. */
        GAUSSIAN,
        /** {@code "pissa"} and {@code "pissa_niter_N"}. */
        PISSA
    }

    /** {@code init_lora_weights = true}. */
    public static final LoraInit DEFAULT = new LoraInit(Kind.DEFAULT, -1);
    /** {@code init_lora_weights = false}. */
    public static final LoraInit RANDOM = new LoraInit(Kind.RANDOM, -1);
    /** {@code init_lora_weights = "gaussian"}. */
    public static final LoraInit GAUSSIAN = new LoraInit(Kind.GAUSSIAN, -1);
    /** {@code init_lora_weights = "pissa"} (full SVD). */
    public static final LoraInit PISSA = new LoraInit(Kind.PISSA, -1);

    private final Kind kind;
    private final int niter;

    private LoraInit(Kind kind, int niter) {
        this.kind = kind;
        this.niter = niter;
    }

    /**
     * @param niter subspace iterations of the randomized SVD, at least 0
     * @return {@code "pissa_niter_<niter>"}
     */
    public static LoraInit pissa(int niter) {
        if (niter < 0) {
            throw new IllegalArgumentException("init_lora_weights pissa_niter_N needs N >= 0, got " + niter);
        }
        return new LoraInit(Kind.PISSA, niter);
    }

    /**
     * Reads the JSON value.
     *
     * @param value {@code Boolean} or {@code String}
     * @return the initialization
     * @throws IllegalArgumentException naming {@code init_lora_weights} for other values
     */
    public static LoraInit fromJson(Object value) {
        if (value instanceof Boolean b) {
            return b ? DEFAULT : RANDOM;
        }
        if (value instanceof String s) {
            if (s.equals("gaussian")) {
                return GAUSSIAN;
            }
            if (s.equals("pissa")) {
                return PISSA;
            }
            if (s.startsWith("pissa_niter_")) {
                try {
                    return pissa(Integer.parseInt(s.substring("pissa_niter_".length())));
                } catch (NumberFormatException e) {
                    // reported below
                }
            }
        }
        throw new IllegalArgumentException("init_lora_weights must be true, false, \"gaussian\", \"pissa\""
                + " or \"pissa_niter_N\" (peft4j supports no other), got " + value);
    }

    /** @return the kind */
    public Kind kind() {
        return kind;
    }

    /** @return subspace iterations of a randomized PiSSA, -1 for the full SVD or other kinds */
    public int niter() {
        return niter;
    }

    /** @return the value in {@code adapter_config.json}: a boolean or a string */
    public Object jsonValue() {
        switch (kind) {
            case DEFAULT:
                return true;
            case RANDOM:
                return false;
            case GAUSSIAN:
                return "gaussian";
            default:
                return niter < 0 ? "pissa" : "pissa_niter_" + niter;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LoraInit i && i.kind == kind && i.niter == niter;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, niter);
    }

    @Override
    public String toString() {
        return String.valueOf(jsonValue());
    }
}
