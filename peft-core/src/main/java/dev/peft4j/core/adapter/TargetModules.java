package dev.peft4j.core.adapter;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The value of PEFT's {@code target_modules} (and {@code exclude_modules}): a list of names, a
 * regular expression, or the {@code "all-linear"} shorthand.
 *
 * <ul>
 *   <li>A list: a module path matches when it equals an entry or ends with {@code "." + entry}
 *       ({@code query} matches {@code encoder.layer.0.attention.self.query}).
 *   <li>A single string: a Java regular expression that must match the whole path (Python's
 *       {@code re.fullmatch}).
 *   <li>{@code "all-linear"} (any case): every linear layer except the model's output layer, see
 *       {@link TargetMatcher}.
 * </ul>
 */
public final class TargetModules {

    /** PEFT's shorthand for every linear layer but the output layer. */
    public static final String ALL_LINEAR = "all-linear";

    private final List<String> names;
    private final Pattern regex;
    private final boolean allLinear;

    private TargetModules(List<String> names, Pattern regex, boolean allLinear) {
        this.names = names;
        this.regex = regex;
        this.allLinear = allLinear;
    }

    /**
     * @param names module names or path suffixes, e.g. {@code query}, {@code self_attn.q_proj}
     * @return a list target
     * @throws IllegalArgumentException when the list is empty or has a blank entry
     */
    public static TargetModules of(List<String> names) {
        Objects.requireNonNull(names, "names");
        if (names.isEmpty()) {
            throw new IllegalArgumentException("the list of module names is empty");
        }
        for (String n : names) {
            if (n == null || n.isBlank()) {
                throw new IllegalArgumentException("blank module name in " + names);
            }
        }
        return new TargetModules(List.copyOf(names), null, false);
    }

    /**
     * @param names module names or path suffixes
     * @return a list target
     */
    public static TargetModules of(String... names) {
        return of(List.of(names));
    }

    /**
     * A single string as PEFT reads it: {@code "all-linear"} (any case) or a full-match regex.
     *
     * @param regexOrShorthand the string
     * @return the target
     * @throws IllegalArgumentException when the regex does not compile
     */
    public static TargetModules parse(String regexOrShorthand) {
        Objects.requireNonNull(regexOrShorthand, "target");
        if (regexOrShorthand.toLowerCase(Locale.ROOT).equals(ALL_LINEAR)) {
            return allLinear();
        }
        return regex(regexOrShorthand);
    }

    /**
     * @param regex a Java regular expression matched against whole module paths
     * @return a regex target
     * @throws IllegalArgumentException when the regex does not compile
     */
    public static TargetModules regex(String regex) {
        try {
            return new TargetModules(null, Pattern.compile(regex), false);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("invalid regular expression '" + regex + "': "
                    + e.getDescription(), e);
        }
    }

    /** @return the {@code "all-linear"} shorthand */
    public static TargetModules allLinear() {
        return new TargetModules(null, null, true);
    }

    /** @return whether this is a list of names */
    public boolean isList() {
        return names != null;
    }

    /** @return whether this is a regular expression */
    public boolean isRegex() {
        return regex != null;
    }

    /** @return whether this is the {@code "all-linear"} shorthand */
    public boolean isAllLinear() {
        return allLinear;
    }

    /** @return the names of a list target, empty otherwise */
    public List<String> names() {
        return names == null ? List.of() : names;
    }

    /** @return the regex of a regex target, {@code null} otherwise */
    public String regexString() {
        return regex == null ? null : regex.pattern();
    }

    /**
     * PEFT's match of one module path against a list or regex (layer filters aside).
     *
     * @param path a dotted module path
     * @return whether it matches
     * @throws IllegalStateException for {@code "all-linear"}, which must be resolved against a
     *     model first
     */
    public boolean matches(String path) {
        if (allLinear) {
            throw new IllegalStateException("\"all-linear\" must be resolved against a model first");
        }
        if (regex != null) {
            return regex.matcher(path).matches();
        }
        for (String n : names) {
            if (path.equals(n) || path.endsWith("." + n)) {
                return true;
            }
        }
        return false;
    }

    /** @return the JSON value PEFT writes: a list, or a string */
    public Object toJsonValue() {
        if (allLinear) {
            return ALL_LINEAR;
        }
        return regex != null ? regex.pattern() : names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TargetModules t && Objects.equals(toJsonValue(), t.toJsonValue());
    }

    @Override
    public int hashCode() {
        return toJsonValue().hashCode();
    }

    @Override
    public String toString() {
        return allLinear ? ALL_LINEAR : regex != null ? "'" + regex.pattern() + "'" : names.toString();
    }
}
