package dev.peft4j.quant;

import com.fasterxml.jackson.core.io.NumberOutput;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Python's {@code repr(float)} (which {@code json.dumps} uses): the shortest digits that round-trip,
 * in positional notation when the decimal exponent is in [-5, 16), else as {@code 1.5e-07}. Lets the
 * quant-state JSON come out byte-identical to bitsandbytes', not just equal in value.
 */
final class PythonFloatRepr {

    private PythonFloatRepr() {}

    /**
     * @param v a finite double
     * @return its Python repr
     * @throws IllegalArgumentException when {@code v} is NaN or infinite (not valid JSON)
     */
    static String repr(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("not a finite number: " + v);
        }
        if (v == 0) {
            return (Double.doubleToRawLongBits(v) < 0) ? "-0.0" : "0.0";
        }
        BigDecimal d = shortest(Math.abs(v));
        String digits = d.unscaledValue().abs().toString();
        int decpt = digits.length() - d.scale(); // value = 0.DIGITS * 10^decpt
        StringBuilder out = new StringBuilder(v < 0 ? "-" : "");
        if (decpt <= -4 || decpt > 16) {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            out.append('e').append(exp < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exp));
            out.append(e.length() < 2 ? "0" + e : e);
        } else if (decpt <= 0) {
            out.append("0.").append("0".repeat(-decpt)).append(digits);
        } else if (decpt >= digits.length()) {
            out.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            out.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return out.toString();
    }

    /**
     * The shortest decimal that rounds to {@code v} (closest one if several). Jackson's fast writer
     * (Schubfach, like Java 19+'s {@code Double.toString}) gives exactly that, except that it
     * never returns fewer than two digits: where one digit suffices (e.g. {@code 5e-324}) it may
     * pick a closer two-digit decimal ({@code 4.9e-324}), so one-digit neighbours are tried.
     */
    private static BigDecimal shortest(double v) {
        BigDecimal d = new BigDecimal(NumberOutput.toString(v, true)).stripTrailingZeros();
        if (d.precision() != 2) {
            return d;
        }
        BigDecimal exact = new BigDecimal(v);
        BigDecimal best = null;
        for (RoundingMode mode : new RoundingMode[] {RoundingMode.FLOOR, RoundingMode.CEILING}) {
            BigDecimal candidate = d.round(new MathContext(1, mode));
            if (candidate.doubleValue() == v
                    && (best == null
                            || candidate.subtract(exact).abs()
                                            .compareTo(best.subtract(exact).abs()) < 0)) {
                best = candidate;
            }
        }
        return best == null ? d : best.stripTrailingZeros();
    }
}
