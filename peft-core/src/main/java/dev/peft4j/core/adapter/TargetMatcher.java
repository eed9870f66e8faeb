package dev.peft4j.core.adapter;

import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;

/**
 * Chooses the modules an adapter is put on, with Hugging Face PEFT's rules
 * ({@code check_target_module_exists}).
 *
 * <ol>
 *   <li>A path matched by {@code exclude_modules} is never a target (same list/regex rules as
 *       {@link TargetModules}).
 *   <li>A path is a target when {@code target_modules} matches it ({@link TargetModules#matches}).
 *   <li>With {@code layers_to_transform} (list targets only), a matching path must also lie in one
 *       of the listed layers. The layer index is the number after {@code <layers_pattern>.} (e.g.
 *       {@code layer.3.}); without a pattern it is the last number that follows a name and is
 *       itself followed by a dot ({@code encoder.layer.3.attention…}). A path without an index is
 *       not a target. PEFT requires some prefix before the pattern; peft4j also accepts the pattern
 *       at the start of the path.
 * </ol>
 *
 * <p>{@code "all-linear"} becomes the set of last names of every {@link LinearLike} module, minus
 * the output layer's: the paths of {@link HasOutputLayer} when the model implements it, otherwise
 * top-level children named {@code lm_head}, {@code score} or {@code classifier}. Modules inside an
 * {@link AdapterLayer} are never candidates. Only {@link LinearLike} modules can be targets.
 */
public final class TargetMatcher {

    /** Top-level children taken as the output layer when the model does not say. */
    public static final List<String> CONVENTIONAL_OUTPUT_LAYERS = List.of("lm_head", "score", "classifier");

    private final TargetModules targets;
    private final TargetModules exclude;
    private final List<Integer> layers;
    private final List<Pattern> layerPatterns;

    private TargetMatcher(Builder b) {
        this.targets = b.targets;
        this.exclude = b.exclude;
        this.layers = b.layers;
        this.layerPatterns = b.layerPatterns;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the target modules this matcher was built with */
    public TargetModules targets() {
        return targets;
    }

    /**
     * PEFT's decision for one path, without the linear-layer check.
     *
     * @param path a dotted module path
     * @return whether the path is a target
     * @throws IllegalStateException when the targets are {@code "all-linear"} (see {@link #resolve})
     */
    public boolean matches(String path) {
        if (exclude != null && exclude.matches(path)) {
            return false;
        }
        if (!targets.matches(path)) {
            return false;
        }
        if (layers == null || !targets.isList()) {
            return true;
        }
        Integer index = layerIndex(path);
        return index != null && layers.contains(index);
    }

    private Integer layerIndex(String path) {
        for (Pattern p : layerPatterns) {
            Matcher m = p.matcher(path);
            if (m.lookingAt()) {
                return Integer.parseInt(m.group(1));
            }
        }
        return null;
    }

    /**
     * A matcher whose {@code "all-linear"} targets are replaced by the names they stand for in
     * {@code root}; other matchers are returned unchanged.
     *
     * @param root the model
     * @return a matcher with list or regex targets
     */
    public TargetMatcher resolve(Module root) {
        if (!targets.isAllLinear()) {
            return this;
        }
        List<String> out = outputLayers(root);
        TreeSet<String> names = new TreeSet<>();
        for (Map.Entry<String, Module> e : candidates(root).entrySet()) {
            if (e.getValue() instanceof LinearLike && !out.contains(e.getKey())) {
                names.add(lastName(e.getKey()));
            }
        }
        for (String o : out) {
            names.remove(lastName(o));
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("target_modules \"all-linear\" found no linear layer"
                    + " besides the output layer " + out);
        }
        Builder b = new Builder();
        b.targets = TargetModules.of(new ArrayList<>(names));
        b.exclude = exclude;
        b.layers = layers;
        b.layerPatterns = layerPatterns;
        return b.build();
    }

    /**
     * The model's output layer paths: {@link HasOutputLayer} or the conventional top-level names.
     *
     * @param root the model
     * @return paths, possibly empty
     */
    public static List<String> outputLayers(Module root) {
        if (root instanceof HasOutputLayer h) {
            return List.copyOf(h.outputLayerPaths());
        }
        return CONVENTIONAL_OUTPUT_LAYERS.stream()
                .filter(root.children()::containsKey)
                .collect(Collectors.toList());
    }

    /**
     * Every target path of {@code root}, in tree order, checked: each is a {@link LinearLike}.
     *
     * @param root the model
     * @return target paths, never empty
     * @throws IllegalArgumentException when nothing matches (listing the targets and up to ten
     *     linear module paths of the model) or when a matched module is not linear
     */
    public List<String> select(Module root) {
        TargetMatcher resolved = resolve(root);
        Map<String, Module> candidates = candidates(root);
        List<String> found = new ArrayList<>();
        List<String> notLinear = new ArrayList<>();
        for (Map.Entry<String, Module> e : candidates.entrySet()) {
            if (resolved.matches(e.getKey())) {
                if (e.getValue() instanceof LinearLike) {
                    found.add(e.getKey());
                } else {
                    notLinear.add(e.getKey() + " (" + e.getValue().getClass().getSimpleName() + ")");
                }
            }
        }
        if (!notLinear.isEmpty()) {
            throw new IllegalArgumentException("target_modules " + targets + " matched modules that are"
                    + " not linear layers: " + String.join(", ", notLinear)
                    + "; only linear layers can be adapted");
        }
        if (found.isEmpty()) {
            List<String> linear = candidates.entrySet().stream()
                    .filter(e -> e.getValue() instanceof LinearLike)
                    .map(Map.Entry::getKey)
                    .collect(Collectors.toList());
            String sample = linear.stream().limit(10).collect(Collectors.joining(", "));
            throw new IllegalArgumentException("target_modules " + targets
                    + (exclude == null ? "" : " (exclude_modules " + exclude + ")")
                    + (layers == null ? "" : " (layers_to_transform " + layers + ")")
                    + " matched no module of " + root.getClass().getSimpleName() + "; it has "
                    + linear.size() + " linear modules"
                    + (linear.isEmpty() ? "" : ", e.g. " + sample + (linear.size() > 10 ? ", ..." : "")));
        }
        return found;
    }

    /** Every module of the tree but the root and what lies inside adapter layers. */
    static Map<String, Module> candidates(Module root) {
        Map<String, Module> out = new LinkedHashMap<>();
        List<String> adapterPrefixes = new ArrayList<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            String path = e.getKey();
            if (path.isEmpty() || adapterPrefixes.stream().anyMatch(p -> path.startsWith(p + "."))) {
                continue;
            }
            if (e.getValue() instanceof AdapterLayer) {
                adapterPrefixes.add(path);
            }
            out.put(path, e.getValue());
        }
        return out;
    }

    private static String lastName(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }

    /** Builds a {@link TargetMatcher}; {@link #setTargetModules} is required. */
    public static final class Builder {

        private TargetModules targets;
        private TargetModules exclude;
        private List<Integer> layers;
        private List<String> patterns;
        private List<Pattern> layerPatterns;

        private Builder() {}

        /**
         * @param targets PEFT's {@code target_modules}
         * @return this
         */
        public Builder setTargetModules(TargetModules targets) {
            this.targets = targets;
            return this;
        }

        /**
         * @param exclude PEFT's {@code exclude_modules}, or null
         * @return this
         */
        public Builder optExcludeModules(TargetModules exclude) {
            this.exclude = exclude;
            return this;
        }

        /**
         * @param layers PEFT's {@code layers_to_transform}, or null for every layer
         * @return this
         */
        public Builder optLayersToTransform(Collection<Integer> layers) {
            this.layers = layers == null ? null : List.copyOf(layers);
            return this;
        }

        /**
         * @param patterns PEFT's {@code layers_pattern} (e.g. {@code layer}, {@code layers}), or null
         * @return this
         */
        public Builder optLayersPattern(List<String> patterns) {
            this.patterns = patterns == null ? null : List.copyOf(patterns);
            return this;
        }

        /**
         * @return the matcher
         * @throws IllegalArgumentException naming the field when the combination is invalid
         */
        public TargetMatcher build() {
            Objects.requireNonNull(targets, "target_modules is required");
            if (exclude != null && exclude.isAllLinear()) {
                throw new IllegalArgumentException("exclude_modules cannot be \"all-linear\"");
            }
            if (patterns != null && !patterns.isEmpty() && layers == null) {
                throw new IllegalArgumentException("layers_pattern " + patterns
                        + " is given without layers_to_transform");
            }
            if (layers != null && targets.isRegex()) {
                throw new IllegalArgumentException("layers_to_transform cannot be used when"
                        + " target_modules is a regular expression (" + targets + ")");
            }
            if (layerPatterns == null) {
                layerPatterns = new ArrayList<>();
                if (patterns == null || patterns.isEmpty()) {
                    layerPatterns.add(Pattern.compile("(?:.*\\.)?[^.]*\\.(\\d+)\\."));
                } else {
                    for (String p : patterns) {
                        try {
                            layerPatterns.add(Pattern.compile("(?:.*\\.)?" + p + "\\.(\\d+)\\."));
                        } catch (PatternSyntaxException e) {
                            throw new IllegalArgumentException("layers_pattern '" + p
                                    + "' is not a valid regular expression: " + e.getDescription(), e);
                        }
                    }
                }
            }
            return new TargetMatcher(this);
        }
    }
}
