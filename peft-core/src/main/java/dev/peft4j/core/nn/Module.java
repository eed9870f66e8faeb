package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.BlockList;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParameterList;
import ai.djl.training.initializer.Initializer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A node of the named module tree, in the manner of PyTorch's {@code nn.Module}.
 *
 * <p>Children and parameters are registered under plain names ({@code query}, {@code weight},
 * {@code 0}); full names are Hugging Face dotted paths built from them
 * ({@code encoder.layer.0.attention.self.query.weight}), with none of DJL's numeric child-name
 * prefixes. A child can be replaced in place ({@link #replaceChild}, {@link #setModule}), which is
 * how adapters are injected; forward code therefore looks children up by name ({@link #child})
 * rather than caching them in fields.
 *
 * <p>A parameter is declared with its expected shape and receives its array exactly once, either
 * from a checkpoint ({@link StateDictLoader}) or from {@link #initialize}. DJL's {@code Trainer},
 * {@code ParameterStore} and devices work unchanged: {@link #getChildren()} and {@link
 * #getParameters()} expose the same tree, and {@link #getParameters()} lists a parameter shared by
 * two modules (tied embeddings) once.
 */
public abstract class Module extends AbstractBlock {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_]+");

    private final LinkedHashMap<String, Module> modules = new LinkedHashMap<>();
    private final Map<String, Shape> expectedShapes = new LinkedHashMap<>();

    /**
     * Registers a child module.
     *
     * @param name the child's name, letters, digits and underscores only
     * @param child the child
     * @param <T> the child's type
     * @return the child, for assignment
     * @throws IllegalArgumentException when the name is invalid or taken
     */
    protected final <T extends Module> T registerModule(String name, T child) {
        checkName(name);
        Objects.requireNonNull(child, "child module '" + name + "' is null");
        if (modules.containsKey(name) || parameters.containsKey(name)) {
            throw new IllegalArgumentException(
                    "'" + name + "' is already registered in " + getClass().getSimpleName());
        }
        modules.put(name, child);
        return child;
    }

    /**
     * Declares a parameter whose array arrives later, from a checkpoint or {@link #initialize}.
     *
     * @param name the local name, e.g. {@code weight}
     * @param type the DJL parameter type (chooses the default initializer)
     * @param shape the expected shape
     * @return the parameter
     */
    protected final Parameter registerParameter(String name, Parameter.Type type, Shape shape) {
        checkName(name);
        if (modules.containsKey(name) || parameters.containsKey(name)) {
            throw new IllegalArgumentException(
                    "'" + name + "' is already registered in " + getClass().getSimpleName());
        }
        Parameter p = Parameter.builder().setName(name).setType(type).build();
        expectedShapes.put(name, Objects.requireNonNull(shape, "shape"));
        return addParameter(p);
    }

    /**
     * Makes {@code name} refer to a parameter owned by another module (weight tying, e.g. a tied
     * {@code lm_head.weight}). The shared parameter is listed once, under its first path.
     *
     * @param name the local name
     * @param shared the parameter to share
     */
    protected final void shareParameter(String name, Parameter shared) {
        checkName(name);
        parameters.put(name, Objects.requireNonNull(shared, "shared parameter"));
    }

    /**
     * @param name a local parameter name
     * @return the shape the parameter is declared with
     */
    public final Shape expectedShape(String name) {
        Shape s = expectedShapes.get(name);
        if (s == null && parameters.containsKey(name)) {
            s = parameters.get(name).getShape();
        }
        if (s == null) {
            throw new IllegalArgumentException(
                    getClass().getSimpleName() + " has no parameter '" + name + "'");
        }
        return s;
    }

    /**
     * The shape a checkpoint stores this parameter with: the declared shape, unless the module
     * keeps the parameter in another form (a 4-bit layer's packed weight comes from an {@code [out,
     * in]} tensor).
     *
     * @param name a local parameter name
     * @return the checkpoint shape
     */
    public Shape checkpointShape(String name) {
        return expectedShape(name);
    }

    /**
     * @param name a local parameter name
     * @return the parameter
     * @throws IllegalArgumentException naming the available parameters when absent
     */
    public final Parameter parameter(String name) {
        Parameter p = parameters.get(name);
        if (p == null) {
            throw new IllegalArgumentException(
                    getClass().getSimpleName()
                            + " has no parameter '"
                            + name
                            + "' (has "
                            + parameters.keySet()
                            + ")");
        }
        return p;
    }

    /**
     * @param name a direct child's name
     * @return the child
     * @throws IllegalArgumentException naming the available children when absent
     */
    public final Module child(String name) {
        Module m = modules.get(name);
        if (m == null) {
            throw new IllegalArgumentException(
                    getClass().getSimpleName()
                            + " has no child '"
                            + name
                            + "' (children: "
                            + modules.keySet()
                            + ")");
        }
        return m;
    }

    /** @return the direct children by name, in registration order (unmodifiable) */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(modules);
    }

    /** @return this module's own parameters by local name (unmodifiable) */
    public final Map<String, Parameter> directParameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /**
     * Adds a child after the existing ones, from outside the module: for a PEFT method's own
     * modules (prompt tuning's {@code prompt_encoder}, AdapterHub's {@code <site>.adapters.<name>})
     * that must sit in the base model's tree so that they train and save with it, while the
     * model's own code never calls them.
     *
     * @param name the child's name, letters, digits and underscores only
     * @param child the child
     * @param <T> the child's type
     * @return the child
     * @throws IllegalArgumentException when the name is invalid or taken
     */
    public final <T extends Module> T addChild(String name, T child) {
        return registerModule(name, child);
    }

    /**
     * Removes a child added with {@link #addChild}.
     *
     * @param name the child's name
     * @return the removed child
     * @throws IllegalArgumentException when there is no such child
     */
    public final Module removeChild(String name) {
        Module current = child(name);
        modules.remove(name);
        return current;
    }

    /**
     * Replaces a direct child in place, keeping its position.
     *
     * @param name the existing child's name
     * @param replacement the new child
     * @return the replaced child
     * @throws IllegalArgumentException when there is no such child
     */
    public final Module replaceChild(String name, Module replacement) {
        Module current = child(name);
        Objects.requireNonNull(replacement, "replacement for '" + name + "'");
        checkReplacement(name, current, replacement);
        return modules.put(name, replacement);
    }

    /**
     * Lets a module refuse a replacement child it could not work with (a module that needs its
     * child to be of some kind); the default accepts any.
     *
     * @param name the child's name
     * @param current the child being replaced
     * @param replacement the new child
     * @throws IllegalArgumentException naming the child when the replacement does not fit
     */
    protected void checkReplacement(String name, Module current, Module replacement) {}

    /**
     * Every module of the tree with its path, in pre-order; the root's path is the empty string.
     *
     * @return path → module, in pre-order
     */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", this, out);
        return out;
    }

    private static void collectModules(String path, Module m, Map<String, Module> out) {
        out.put(path, m);
        for (Map.Entry<String, Module> e : m.modules.entrySet()) {
            collectModules(join(path, e.getKey()), e.getValue(), out);
        }
    }

    /**
     * Finds a module by its dotted path.
     *
     * @param path e.g. {@code encoder.layer.0.attention.self.query}; empty for this module
     * @return the module
     * @throws IllegalArgumentException naming the missing step and what exists there
     */
    public final Module getModule(String path) {
        Objects.requireNonNull(path, "path");
        Module m = this;
        if (path.isEmpty()) {
            return m;
        }
        StringBuilder walked = new StringBuilder();
        for (String step : path.split("\\.", -1)) {
            Module next = m.modules.get(step);
            if (next == null) {
                throw new IllegalArgumentException(
                        "no module '"
                                + path
                                + "': "
                                + (walked.length() == 0 ? "the root" : "'" + walked + "'")
                                + " has no child '"
                                + step
                                + "' (children: "
                                + m.modules.keySet()
                                + ")");
            }
            walked.append(walked.length() == 0 ? "" : ".").append(step);
            m = next;
        }
        return m;
    }

    /**
     * Replaces the module at {@code path} in place.
     *
     * @param path dotted path of an existing module (not the root)
     * @param replacement the new module
     * @return the replaced module
     */
    public final Module setModule(String path, Module replacement) {
        int dot = path.lastIndexOf('.');
        if (path.isEmpty()) {
            throw new IllegalArgumentException("cannot replace the root module");
        }
        Module parent = dot < 0 ? this : getModule(path.substring(0, dot));
        return parent.replaceChild(path.substring(dot + 1), replacement);
    }

    /**
     * Every parameter of the tree by full dotted path, in pre-order. A parameter reachable under
     * several paths (tied weights) appears once, under its first path.
     *
     * @return path → parameter
     */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<String, Module> e : namedModules().entrySet()) {
            for (Map.Entry<String, Parameter> p : e.getValue().parameters.entrySet()) {
                if (seen.add(p.getValue())) {
                    out.put(join(e.getKey(), p.getKey()), p.getValue());
                }
            }
        }
        return out;
    }

    /**
     * Every (path, parameter) pair including aliases of tied parameters, for loading checkpoints
     * that store a tied tensor under either name.
     *
     * @return path → parameter, aliases included
     */
    public final Map<String, Parameter> namedParametersWithAliases() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : namedModules().entrySet()) {
            for (Map.Entry<String, Parameter> p : e.getValue().parameters.entrySet()) {
                out.put(join(e.getKey(), p.getKey()), p.getValue());
            }
        }
        return out;
    }

    /**
     * Freezes (no gradient) every parameter whose full path matches.
     *
     * @param pathPredicate tested against full dotted parameter paths
     * @return the number of parameters frozen
     */
    public final int freeze(Predicate<String> pathPredicate) {
        return setTrainable(pathPredicate, false);
    }

    /**
     * Unfreezes (gradient required) every parameter whose full path matches.
     *
     * @param pathPredicate tested against full dotted parameter paths
     * @return the number of parameters unfrozen
     */
    public final int unfreeze(Predicate<String> pathPredicate) {
        return setTrainable(pathPredicate, true);
    }

    private int setTrainable(Predicate<String> pathPredicate, boolean trainable) {
        int n = 0;
        for (Map.Entry<String, Parameter> e : namedParameters().entrySet()) {
            if (pathPredicate.test(e.getKey())) {
                e.getValue().freeze(!trainable);
                n++;
            }
        }
        return n;
    }

    /** @return the number of scalars in all parameters, shared ones counted once */
    public final long parameterCount() {
        return count(p -> true);
    }

    /** @return the number of scalars in parameters that require gradients */
    public final long trainableParameterCount() {
        return count(Parameter::requiresGradient);
    }

    private long count(Predicate<Parameter> filter) {
        long n = 0;
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Module m : namedModules().values()) {
            for (Map.Entry<String, Parameter> p : m.parameters.entrySet()) {
                if (seen.add(p.getValue()) && filter.test(p.getValue())) {
                    n += m.parameterSize(p.getKey());
                }
            }
        }
        return n;
    }

    /**
     * The number of scalars a direct parameter holds, counted from its array or declared shape.
     * Subclasses whose arrays are packed (4-bit weights) override this to report the logical
     * size.
     *
     * @param name a local parameter name
     * @return element count
     */
    protected long parameterSize(String name) {
        Parameter p = parameter(name);
        Shape s = p.isInitialized() ? p.getArray().getShape() : expectedShape(name);
        return s.size();
    }

    /**
     * Initializes every parameter that has no array yet from its declared shape and initializer
     * (the type's default when none is set). Parameters loaded from a checkpoint are left alone.
     *
     * @param manager the manager that owns the new arrays
     * @param dataType the arrays' type
     * @param inputShapes ignored: shapes are declared up front
     */
    @Override
    public void initialize(NDManager manager, DataType dataType, Shape... inputShapes) {
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            Parameter p = e.getValue();
            if (p.isInitialized()) {
                continue;
            }
            Initializer init = p.getInitializer();
            if (init == null) {
                init = p.getType().getInitializer();
            }
            NDArray array = init.initialize(manager, expectedShape(e.getKey()), dataType);
            p.setArray(array);
            if (p.requiresGradient()) {
                array.setRequiresGradient(true);
            }
        }
        for (Module child : modules.values()) {
            child.initialize(manager, dataType);
        }
    }

    /** @return true when every parameter of the tree has an array */
    @Override
    public boolean isInitialized() {
        return namedParameters().values().stream().allMatch(Parameter::isInitialized);
    }

    /** @return the children under their plain names (no DJL numeric prefixes) */
    @Override
    public BlockList getChildren() {
        BlockList list = new BlockList(modules.size());
        modules.forEach(list::add);
        return list;
    }

    /** @return every parameter of the tree by full dotted path, shared ones once */
    @Override
    public ParameterList getParameters() {
        return new ParameterList(namedParameters());
    }

    /**
     * Output shapes are not inferred by peft4j modules unless a subclass says so.
     *
     * @param inputShapes input shapes
     * @return never
     */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException(
                getClass().getSimpleName() + " does not infer output shapes");
    }

    /**
     * A one-line-per-module description of the tree with parameter shapes, like printing a
     * PyTorch model.
     *
     * @return the description
     */
    public String describe() {
        List<String> lines = new ArrayList<>();
        for (Map.Entry<String, Module> e : namedModules().entrySet()) {
            Module m = e.getValue();
            String params =
                    m.parameters.keySet().stream()
                            .map(n -> n + m.expectedShape(n))
                            .collect(Collectors.joining(", "));
            String path = e.getKey().isEmpty() ? "(root)" : e.getKey();
            lines.add(path + ": " + m.getClass().getSimpleName() + (params.isEmpty() ? "" : " " + params));
        }
        return String.join(System.lineSeparator(), lines);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName();
    }

    static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    private static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "invalid module or parameter name '" + name + "': use letters, digits and _");
        }
    }
}
