package dev.peft4j.quant;

import java.util.Locale;

/**
 * The two 4-bit data types of bitsandbytes, each a table of 16 float32 values indexed by the
 * 4-bit code.
 *
 * <p>The tables are bitsandbytes' own ({@code backends/default/ops.py}): NF4 is sorted, FP4 is
 * not (bit 3 is the sign) and holds 0 twice, at indices 0 and 8.
 */
public enum QuantType {
    /** 4-bit NormalFloat: quantiles of a standard normal distribution, scaled to [-1, 1]. */
    NF4(
            "nf4",
            new float[] {
                -1.0f,
                -0.6961928009986877f,
                -0.5250730514526367f,
                -0.39491748809814453f,
                -0.28444138169288635f,
                -0.18477343022823334f,
                -0.09105003625154495f,
                0.0f,
                0.07958029955625534f,
                0.16093020141124725f,
                0.24611230194568634f,
                0.33791524171829224f,
                0.44070982933044434f,
                0.5626170039176941f,
                0.7229568362236023f,
                1.0f
            }),
    /** 4-bit float (1 sign, 2 exponent, 1 mantissa bits), normalized to [-1, 1]. */
    FP4(
            "fp4",
            new float[] {
                0f, 0.0052f, 0.6667f, 1f, 0.3333f, 0.5f, 0.1667f, 0.25f, 0f, -0.0052f, -0.6667f,
                -1f, -0.3333f, -0.5f, -0.1667f, -0.25f
            });

    private final String bnbName;
    private final float[] code;
    private final CodeBook codeBook;

    QuantType(String bnbName, float[] code) {
        this.bnbName = bnbName;
        this.code = code;
        this.codeBook = new CodeBook(code);
    }

    /** @return the name bitsandbytes and transformers use: {@code "nf4"} or {@code "fp4"} */
    public String bnbName() {
        return bnbName;
    }

    /** @return a copy of the 16 code values, indexed by the 4-bit code */
    public float[] code() {
        return code.clone();
    }

    /**
     * @param index a 4-bit code in [0, 15]
     * @return the value that code stands for
     */
    public float value(int index) {
        return code[index];
    }

    CodeBook codeBook() {
        return codeBook;
    }

    /**
     * Parses a bitsandbytes quant type name.
     *
     * @param name {@code "nf4"} or {@code "fp4"} (case-insensitive)
     * @return the type
     * @throws IllegalArgumentException naming the value when it is neither
     */
    public static QuantType fromBnbName(String name) {
        if (name != null) {
            String lower = name.toLowerCase(Locale.ROOT);
            for (QuantType t : values()) {
                if (t.bnbName.equals(lower)) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException(
                "unknown quant_type '" + name + "' (supported: nf4, fp4)");
    }
}
