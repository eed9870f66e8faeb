package dev.peft4j.lora;

import dev.peft4j.core.adapter.TargetModules;
import dev.peft4j.core.peft.PeftModel;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * LoRA-only operations over a {@link PeftModel} whose adapters are LoRA: its {@link LoraLinear}
 * layers, an adapter's {@link LoraConfig}, and PEFT's {@code add_weighted_adapter}.
 *
 * <pre>{@code
 * LoraAdapters.addWeightedAdapter(peft, List.of("a", "b"), List.of(0.5, 0.5), "ab", Combination.CAT);
 * peft.setAdapter("ab");
 * }</pre>
 */
public final class LoraAdapters {

    private LoraAdapters() {}

    /**
     * @param model a wrapped model
     * @return every {@link LoraLinear} of its base by path, in tree order
     */
    public static Map<String, LoraLinear> loraLayers(PeftModel<?> model) {
        return LoraMethod.layers(model.baseModel());
    }

    /**
     * @param model a wrapped model
     * @param adapter one of its adapters
     * @return that adapter's LoRA configuration (resolved for the base)
     * @throws IllegalArgumentException when there is no such adapter or it is not LoRA
     */
    public static LoraConfig config(PeftModel<?> model, String adapter) {
        return model.config(adapter, LoraConfig.class);
    }

    /**
     * Combines existing adapters into a new one, as PEFT's {@code add_weighted_adapter}; see
     * {@link Combination}. The new adapter has {@code lora_alpha = r}, no rank or alpha patterns,
     * no rsLoRA, and is not activated.
     *
     * @param model a wrapped model with LoRA adapters
     * @param adapters source adapters
     * @param weights one weight per source (may be negative)
     * @param name the new adapter's name
     * @param combination how to combine
     */
    public static void addWeightedAdapter(PeftModel<?> model, List<String> adapters, List<Double> weights,
                                          String name, Combination combination) {
        addWeightedAdapter(model, adapters, weights, name, combination, 0);
    }

    /**
     * @param model a wrapped model with LoRA adapters
     * @param adapters source adapters
     * @param weights one weight per source
     * @param name the new adapter's name
     * @param combination how to combine
     * @param svdRank the new rank for {@link Combination#SVD}; 0 for the largest source rank
     * @throws IllegalArgumentException for unknown sources, mismatched sizes, unequal ranks with
     *     {@link Combination#LINEAR}, mixed list/regex targets, DoRA sources, or a taken name
     */
    public static void addWeightedAdapter(PeftModel<?> model, List<String> adapters, List<Double> weights,
                                          String name, Combination combination, int svdRank) {
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new IllegalArgumentException("addWeightedAdapter needs one weight per adapter, got "
                    + adapters.size() + " adapters and " + weights.size() + " weights");
        }
        if (model.adapterNames().contains(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists");
        }
        List<LoraConfig> sources = adapters.stream().map(a -> config(model, a)).collect(Collectors.toList());
        if (sources.stream().anyMatch(LoraConfig::useDora)) {
            throw new IllegalArgumentException("addWeightedAdapter does not support DoRA adapters");
        }
        Combination type = adapters.size() == 1 ? Combination.LINEAR : combination;
        List<Integer> ranks = sources.stream()
                .map(c -> Stream.concat(Stream.of(c.r()), c.rankPattern().values().stream()).max(Integer::compare).get())
                .collect(Collectors.toList());
        int rank;
        if (type == Combination.LINEAR) {
            if (new TreeSet<>(ranks).size() != 1) {
                throw new IllegalArgumentException("all adapters must have the same r for the linear combination, got "
                        + ranks);
            }
            rank = ranks.get(0);
        } else if (type == Combination.CAT) {
            rank = ranks.stream().mapToInt(Integer::intValue).sum();
        } else {
            rank = svdRank > 0 ? svdRank : Collections.max(ranks);
        }
        TargetModules targets;
        if (sources.stream().allMatch(c -> c.targetModules().isList())) {
            TreeSet<String> names = new TreeSet<>();
            sources.forEach(c -> names.addAll(c.targetModules().names()));
            targets = TargetModules.of(new ArrayList<>(names));
        } else if (sources.stream().allMatch(c -> c.targetModules().isRegex())) {
            targets = TargetModules.regex(sources.stream().map(c -> "(" + c.targetModules().regexString() + ")")
                    .collect(Collectors.joining("|")));
        } else {
            throw new IllegalArgumentException("all adapters must have list targets or all regex targets to be"
                    + " combined, got " + sources.stream().map(c -> c.targetModules().toString()).collect(Collectors.toList()));
        }
        LoraConfig cfg = sources.get(0).toBuilder()
                .optR(rank).optLoraAlpha(rank).setTargetModules(targets)
                .optRankPattern(Map.of()).optAlphaPattern(Map.of()).optUseRslora(false)
                .optInitLoraWeights(LoraInit.DEFAULT)
                .build();
        model.addAdapter(name, cfg);
        for (LoraLinear l : loraLayers(model).values()) {
            if (l.adapterNames().contains(name)) {
                WeightedAdapters.combine(l, adapters, weights, type, name, model.manager());
            }
        }
    }
}
