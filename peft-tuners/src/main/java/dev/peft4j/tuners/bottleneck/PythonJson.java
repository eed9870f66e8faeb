package dev.peft4j.tuners.bottleneck;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Python's {@code json.dump(obj, indent=2, sort_keys=True)}: sorted keys, two-space indent,
 * {@code ": "} and {@code ","} separators, {@code []}/{@code {}} when empty, ASCII only, floats as
 * Python's {@code repr} ({@code 1.0}, {@code 0.0001}, {@code 1e-05}), no trailing newline. Values:
 * null, Boolean, String, Integer/Long, Double, List, Map and Jackson {@link JsonNode}.
 */
final class PythonJson {

    private PythonJson() {}

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object v, int depth) {
        if (v instanceof JsonNode n) {
            v = fromNode(n);
        }
        if (v == null) {
            out.append("null");
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long) {
            out.append(v);
        } else if (v instanceof Double || v instanceof Float) {
            out.append(pyFloat(((Number) v).doubleValue()));
        } else if (v instanceof String s) {
            string(out, s);
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append("[");
            for (int i = 0; i < l.size(); i++) {
                out.append(i == 0 ? "" : ",").append('\n').append("  ".repeat(depth + 1));
                write(out, l.get(i), depth + 1);
            }
            out.append('\n').append("  ".repeat(depth)).append("]");
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                out.append("{}");
                return;
            }
            Map<String, Object> sorted = new TreeMap<>();
            m.forEach((k, x) -> sorted.put(String.valueOf(k), x));
            out.append("{");
            boolean first = true;
            for (Map.Entry<String, Object> e : sorted.entrySet()) {
                out.append(first ? "" : ",").append('\n').append("  ".repeat(depth + 1));
                first = false;
                string(out, e.getKey());
                out.append(": ");
                write(out, e.getValue(), depth + 1);
            }
            out.append('\n').append("  ".repeat(depth)).append("}");
        } else {
            throw new IllegalArgumentException("cannot write a " + v.getClass().getSimpleName() + " as JSON");
        }
    }

    private static Object fromNode(JsonNode n) {
        if (n.isNull() || n.isMissingNode()) {
            return null;
        } else if (n.isBoolean()) {
            return n.booleanValue();
        } else if (n.isIntegralNumber()) {
            return n.longValue();
        } else if (n.isNumber()) {
            return n.doubleValue();
        } else if (n.isTextual()) {
            return n.textValue();
        } else if (n.isArray()) {
            List<Object> out = new java.util.ArrayList<>();
            n.forEach(out::add);
            return out;
        }
        Map<String, Object> out = new TreeMap<>();
        n.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /**
     * @param v a double
     * @return Python's {@code repr(v)}
     */
    static String pyFloat(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "Infinity" : "-Infinity";
        }
        if (v == 0) {
            return (1 / v < 0) ? "-0.0" : "0.0";
        }
        BigDecimal d = new BigDecimal(Double.toString(v)).stripTrailingZeros();
        int exp = d.precision() - d.scale() - 1;
        if (exp >= -4 && exp < 16) {
            String s = d.toPlainString();
            return s.contains(".") ? s : s + ".0";
        }
        String digits = d.unscaledValue().abs().toString();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (v < 0 ? "-" : "") + mantissa + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
