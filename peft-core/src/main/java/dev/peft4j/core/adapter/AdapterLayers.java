package dev.peft4j.core.adapter;

import dev.peft4j.core.nn.Module;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whole-model operations over the {@link MergeableLayer}s of one adapter method, shared by the
 * methods that replace linear layers (LoRA, IA³).
 */
public final class AdapterLayers {

    private AdapterLayers() {}

    /**
     * @param base a model
     * @param type the method's layer class
     * @param <T> the layer type
     * @return the layers of that type by path, in tree order
     */
    public static <T extends MergeableLayer> Map<String, T> find(Module base, Class<T> type) {
        Map<String, T> out = new LinkedHashMap<>();
        base.namedModules().forEach((p, m) -> {
            if (type.isInstance(m)) {
                out.put(p, type.cast(m));
            }
        });
        return out;
    }

    /**
     * Merges each layer's active adapter; when one fails, the layers this call merged are
     * unmerged again before the exception propagates.
     *
     * @param layers the layers
     * @param safe as in {@link MergeableLayer#merge}
     */
    public static void merge(Collection<? extends MergeableLayer> layers, boolean safe) {
        List<MergeableLayer> done = new ArrayList<>();
        for (MergeableLayer l : layers) {
            boolean was = !l.mergedAdapters().isEmpty();
            try {
                l.merge(safe);
            } catch (RuntimeException e) {
                done.forEach(MergeableLayer::unmerge);
                throw e;
            }
            if (!was && !l.mergedAdapters().isEmpty()) {
                done.add(l);
            }
        }
    }

    /**
     * @param layers the layers
     * @return whether any of them holds a merged adapter
     */
    public static boolean anyMerged(Collection<? extends MergeableLayer> layers) {
        return layers.stream().anyMatch(l -> !l.mergedAdapters().isEmpty());
    }

    /**
     * Puts each layer's base back at its path, without merging.
     *
     * @param base the model, changed in place
     * @param layers the adapter layers by path
     */
    public static void unload(Module base, Map<String, ? extends MergeableLayer> layers) {
        layers.forEach((path, l) -> base.setModule(path, (Module) l.baseLayer()));
    }
}
