package dev.peft4j.core.adapter;

import dev.peft4j.core.nn.LinearLike;

import java.util.List;

/**
 * An {@link AdapterLayer} over a linear base whose adapters can be merged into the base weight
 * (LoRA, IA³): what {@link AdapterLayers} needs to merge, unmerge and unload a whole model.
 */
public interface MergeableLayer extends AdapterLayer {

    /** @return the wrapped base layer, which {@link AdapterLayers#unload} puts back */
    LinearLike baseLayer();

    /** @return the adapters merged into the base weight, in merge order; empty when none */
    List<String> mergedAdapters();

    /**
     * Merges the active adapter into the base weight.
     *
     * @param safe check the merged weight for non-finite values before keeping it
     */
    void merge(boolean safe);

    /** Takes every merged adapter out of the base weight again. */
    void unmerge();
}
