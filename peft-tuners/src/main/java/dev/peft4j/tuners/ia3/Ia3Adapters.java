package dev.peft4j.tuners.ia3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.nn.Params;
import dev.peft4j.core.peft.PeftModel;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * IA³-only operations over a {@link PeftModel} whose adapters are IA³: its {@link Ia3Linear}
 * layers and PEFT's {@code add_weighted_adapter}.
 *
 * <pre>{@code
 * Ia3Adapters.addWeightedAdapter(peft, List.of("a", "b"), List.of(0.5, 0.5), "ab");
 * peft.setAdapter("ab");
 * }</pre>
 */
public final class Ia3Adapters {

    private Ia3Adapters() {}

    /**
     * @param model a wrapped model
     * @return every {@link Ia3Linear} of its base by path, in tree order
     */
    public static Map<String, Ia3Linear> layers(PeftModel<?> model) {
        return Ia3Method.layers(model.baseModel());
    }

    /**
     * PEFT's {@code IA3Model.add_weighted_adapter}: a new adapter whose vector in each layer is the
     * linear combination {@code Σ wᵢ·lᵢ} of the sources that adapt that layer (not a product). Its
     * config is the first source's with the union of the sources' {@code target_modules} and {@code
     * feedforward_modules} (lists united, regexes joined as {@code (a)|(b)}). It is not activated.
     *
     * @param model a wrapped model with IA³ adapters
     * @param adapters source adapters
     * @param weights one weight per source (may be negative)
     * @param name the new adapter's name
     * @throws IllegalArgumentException for unknown sources, mismatched sizes, a taken name, mixed
     *     list/regex targets, or more than one source with {@code modules_to_save}
     */
    public static void addWeightedAdapter(PeftModel<?> model, List<String> adapters, List<Double> weights,
                                          String name) {
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new IllegalArgumentException("addWeightedAdapter needs one weight per adapter, got "
                    + adapters.size() + " adapters and " + weights.size() + " weights");
        }
        if (model.adapterNames().contains(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists");
        }
        List<Ia3Config> sources = adapters.stream().map(a -> model.config(a, Ia3Config.class))
                .collect(Collectors.toList());
        if (sources.stream().filter(c -> c.modulesToSave() != null && !c.modulesToSave().isEmpty()).count() > 1) {
            throw new IllegalArgumentException("cannot add weighted adapters if more than one of " + adapters
                    + " has modules_to_save");
        }
        Ia3Config cfg = sources.get(0).toBuilder()
                .setTargetModules(unionTargets(sources))
                .setFeedforwardModules(unionFeedforward(sources))
                .optInitIa3Weights(true)
                .build();
        model.addAdapter(name, cfg);
        try (NDManager tmp = model.manager().newSubManager()) {
            for (Ia3Linear l : layers(model).values()) {
                if (!l.adapterNames().contains(name)) {
                    continue;
                }
                NDArray sum = tmp.zeros(l.vector(name).getArray().getShape(), DataType.FLOAT32);
                for (int i = 0; i < adapters.size(); i++) {
                    String a = adapters.get(i);
                    if (l.adapterNames().contains(a)) {
                        NDArray v = l.vector(a).getArray().stopGradient().toType(DataType.FLOAT32, true);
                        v.attach(tmp);
                        NDArray w = tmp.full(v.getShape(), weights.get(i).floatValue());
                        sum = sum.add(v.reshape(sum.getShape()).mul(w));
                    }
                }
                NDArray value = sum.duplicate();
                value.attach(model.manager());
                Params.assign(l.vector(name), value);
            }
        }
    }

    private static TargetModules unionTargets(List<Ia3Config> sources) {
        if (sources.stream().allMatch(c -> c.targetModules().isList())) {
            LinkedHashSet<String> names = new LinkedHashSet<>();
            sources.forEach(c -> names.addAll(c.targetModules().names()));
            return TargetModules.of(new ArrayList<>(names));
        }
        if (sources.stream().allMatch(c -> c.targetModules().isRegex())) {
            return TargetModules.regex(sources.stream().map(c -> "(" + c.targetModules().regexString() + ")")
                    .collect(Collectors.joining("|")));
        }
        throw new IllegalArgumentException("all adapter configs should follow the same target_modules type (lists"
                + " or regexes) to be combined, got " + sources.stream().map(c -> c.targetModules().toString())
                .collect(Collectors.toList()));
    }

    private static FeedforwardModules unionFeedforward(List<Ia3Config> sources) {
        if (sources.stream().allMatch(c -> c.feedforwardModules().isList())) {
            LinkedHashSet<String> names = new LinkedHashSet<>();
            sources.forEach(c -> names.addAll(c.feedforwardModules().names()));
            return FeedforwardModules.of(new ArrayList<>(names));
        }
        if (sources.stream().allMatch(c -> !c.feedforwardModules().isList())) {
            return FeedforwardModules.regex(sources.stream().map(c -> "(" + c.feedforwardModules().regexString() + ")")
                    .collect(Collectors.joining("|")));
        }
        throw new IllegalArgumentException("all adapter configs should follow the same feedforward_modules type"
                + " (lists or regexes) to be combined");
    }
}
