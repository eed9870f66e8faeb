package dev.peft4j.core.adapter;

/**
 * An {@link AdapterLayer} that can run a mixed-adapter batch: each row of its input through the
 * adapter its {@link RowRouting} names (or the base alone), with the base output computed once for
 * the whole batch. LoRA and IA³ layers implement it; a method whose layers do not cannot run
 * mixed batches ({@code PeftModel.routeRows} says so).
 */
public interface RowRoutedLayer extends AdapterLayer {

    /**
     * Checks, before any routing is set, that this layer can route rows to {@code adapter} (LoRA
     * refuses DoRA adapters, as PEFT does). An adapter this layer lacks runs as the base here.
     *
     * @param adapter an adapter name of the batch (never {@link RowRouting#BASE})
     * @throws IllegalArgumentException naming the layer and the adapter when it cannot
     */
    default void checkRoutable(String adapter) {}

    /**
     * @param routing the per-row adapters until cleared, or null to run the active adapter again
     */
    void setRowRouting(RowRouting routing);

    /** @return the routing in effect, or null */
    RowRouting rowRouting();
}
