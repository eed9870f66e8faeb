package dev.peft4j.tuners.ia3;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * IA³'s {@code feedforward_modules}: the targets whose input (not output) is scaled. As in PEFT
 * ({@code IA3Model._check_target_module_feedforward}) a list entry matches a module path that ends
 * with it, <b>without</b> a dot boundary (so {@code output.dense} matches {@code
 * attention.output.dense} too), and a single string is a regular expression matching the whole
 * path. An empty list (no feed-forward module) is allowed.
 */
public final class FeedforwardModules {

    private final List<String> names;
    private final Pattern regex;

    private FeedforwardModules(List<String> names, Pattern regex) {
        this.names = names;
        this.regex = regex;
    }

    /**
     * @param names module names or path suffixes, possibly none
     * @return a list
     * @throws IllegalArgumentException for a blank entry
     */
    public static FeedforwardModules of(List<String> names) {
        Objects.requireNonNull(names, "names");
        for (String n : names) {
            if (n == null || n.isBlank()) {
                throw new IllegalArgumentException("blank module name in " + names);
            }
        }
        return new FeedforwardModules(List.copyOf(names), null);
    }

    /**
     * @param names module names or path suffixes
     * @return a list
     */
    public static FeedforwardModules of(String... names) {
        return of(List.of(names));
    }

    /**
     * @param regex a regular expression matched against whole module paths
     * @return a regex
     * @throws IllegalArgumentException when it does not compile
     */
    public static FeedforwardModules regex(String regex) {
        try {
            return new FeedforwardModules(null, Pattern.compile(regex));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("invalid regular expression '" + regex + "': " + e.getDescription(), e);
        }
    }

    /** @return whether this is a list of names */
    public boolean isList() {
        return names != null;
    }

    /** @return the names of a list, empty for a regex */
    public List<String> names() {
        return names == null ? List.of() : names;
    }

    /** @return the regex, or null for a list */
    public String regexString() {
        return regex == null ? null : regex.pattern();
    }

    /**
     * @param path a module path
     * @return whether that module is feed-forward
     */
    public boolean matches(String path) {
        if (regex != null) {
            return regex.matcher(path).matches();
        }
        return names.stream().anyMatch(path::endsWith);
    }

    /** @return the JSON value: a list, or a string */
    public Object toJsonValue() {
        return regex != null ? regex.pattern() : names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FeedforwardModules f && toJsonValue().equals(f.toJsonValue());
    }

    @Override
    public int hashCode() {
        return toJsonValue().hashCode();
    }

    @Override
    public String toString() {
        return regex != null ? "'" + regex.pattern() + "'" : names.toString();
    }
}
