package dev.peft4j.core.peft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a PEFT method (LoRA, IA³, prompt tuning, …) gives {@link PeftModel}: its configuration and
 * JSON, injection of one named adapter into the frozen base, activation and deletion, its trainable
 * parameters and saved tensors, and merging where it can merge. The model keeps the rest: adapter
 * names, the active adapter, {@code modules_to_save}, freezing, the files. Methods are found with
 * {@link java.util.ServiceLoader} ({@code META-INF/services/dev.peft4j.core.peft.PeftMethod}) or
 * registered with {@link PeftMethods#register}.
 *
 * <p>Every call gets the base model (the tree under {@code base_model.model}); a method keeps its
 * state in the modules it puts there (adapter layers replacing targets through {@link
 * dev.peft4j.core.adapter.AdapterInjector}, or modules it hands to a model-family hook), so one
 * method instance serves every model.
 *
 * @param <C> its configuration type
 */
public interface PeftMethod<C extends PeftConfig> {

    /** Settings for {@link #inject}. */
    record Context(NDManager manager, long seed, boolean loading) {

        /**
         * @param manager owner of the adapter arrays (their device)
         * @param seed seed of the random initialization
         * @param loading whether saved weights will overwrite the initialization (so a costly one,
         *     such as an SVD, may be skipped)
         */
        public Context {
            java.util.Objects.requireNonNull(manager, "manager");
        }
    }

    /** @return PEFT's {@code peft_type}, e.g. {@code LORA} */
    String peftType();

    /**
     * Whether {@code dir} holds an adapter of this method in a format without PEFT's {@code
     * peft_type} (another library's, such as AdapterHub's); consulted by {@link PeftModel#load}
     * only when the directory's {@code adapter_config.json} has no {@code peft_type}. The default
     * recognizes nothing.
     *
     * @param dir an adapter directory
     * @return whether this method reads it
     */
    default boolean recognizes(Path dir) {
        return false;
    }

    /** @return the configuration class */
    Class<C> configType();

    /**
     * Reads a configuration file.
     *
     * @param file the {@link #configFileName()} of an adapter directory
     * @return the configuration
     * @throws IOException when reading fails
     * @throws IllegalArgumentException naming the file and the field for an invalid value
     */
    C readConfig(Path file) throws IOException;

    /**
     * Writes {@link #configFileName()} into {@code dir}, as PEFT writes it.
     *
     * @param config the configuration
     * @param dir an existing directory
     * @throws IOException when writing fails
     */
    void writeConfig(C config, Path dir) throws IOException;

    /** @return the configuration file of an adapter directory; PEFT's {@code adapter_config.json} */
    default String configFileName() {
        return AdapterFiles.CONFIG_FILE;
    }

    /** @return the weights file of an adapter directory; PEFT's {@code adapter_model.safetensors} */
    default String weightsFileName() {
        return AdapterFiles.WEIGHTS_FILE;
    }

    /**
     * @return the prefix of the saved keys of {@code modules_to_save}: {@code base_model.model.} for
     *     tuner methods (LoRA, IA³), {@code base_model.} for prompt learning, as PEFT saves them
     */
    default String modulesToSavePrefix() {
        return AdapterFiles.TUNER_PREFIX;
    }

    /**
     * The module paths the adapter would adapt, without changing anything; they cannot also be in
     * {@code modules_to_save}. Empty for a method that replaces no layer.
     *
     * @param base the base model
     * @param config the configuration
     * @return paths in tree order
     * @throws IllegalArgumentException when the configuration selects nothing it can adapt
     */
    List<String> targets(Module base, C config);

    /**
     * Adds adapter {@code adapter} to the base, all or nothing: on an exception the base is as it
     * was. The new adapter is inactive until {@link #activate}.
     *
     * @param base the frozen base model, changed in place
     * @param adapter the adapter's name (letters, digits, underscores; not taken)
     * @param config its configuration
     * @param context manager, seed, and whether weights will be loaded
     * @return the configuration as resolved for this base (say, {@code all-linear} expanded)
     * @throws IllegalArgumentException naming the module when a target cannot take the adapter
     */
    C inject(Module base, String adapter, C config, Context context);

    /**
     * Makes one adapter run (or none).
     *
     * @param base the base model
     * @param adapter the adapter to run, or null for none
     * @param disabled whether adapters are disabled (the base runs alone)
     */
    void activate(Module base, String adapter, boolean disabled);

    /**
     * Removes an adapter from the base (unmerging it first if merged); layers left without adapters
     * give their place back to the base layer.
     *
     * @param base the base model
     * @param adapter an existing adapter
     */
    void delete(Module base, String adapter);

    /**
     * @param base the base model
     * @param adapter an adapter
     * @return module paths holding that adapter, in tree order (empty for a method replacing no layer)
     */
    List<String> adaptedPaths(Module base, String adapter);

    /**
     * The parameters that train while {@code adapter} is active (not {@code modules_to_save}, which
     * the model handles). Called after {@link #activate}.
     *
     * @param base the base model
     * @param adapter the active adapter
     * @param config its configuration
     * @return the parameters
     */
    List<Parameter> trainableParameters(Module base, String adapter, C config);

    /**
     * The adapter's own tensors under their saved keys (PEFT's, e.g. {@code
     * base_model.model.<path>.lora_A.weight}, or {@code prompt_embeddings}, or another library's
     * layout), in a fixed order; {@code modules_to_save} are added by the model (a key under a
     * {@code modules_to_save} module is taken from its copy).
     *
     * @param base the base model
     * @param adapter an adapter
     * @param config its configuration
     * @return key → live parameter
     */
    Map<String, Parameter> savedParameters(Module base, String adapter, C config);

    /**
     * Saved tensors that are computed rather than held (PEFT's P-tuning, and prefix tuning with its
     * projection, save the prompt encoder's output as {@code prompt_embeddings}); on save they take
     * the place of the {@link #savedParameters} array under the same key. None by default.
     *
     * @param base the base model
     * @param adapter an adapter
     * @param config its configuration
     * @param scratch owner of the computed arrays (closed after the save)
     * @return key → computed array
     */
    default Map<String, NDArray> computedTensors(Module base, String adapter, C config,
                                                NDManager scratch) {
        return Map.of();
    }

    /** @return whether adapters of this method can be merged into the base weights */
    default boolean supportsMerge() {
        return false;
    }

    /**
     * Merges the active adapter into the base weights (a no-op where it is merged already).
     *
     * @param base the base model
     * @param adapter the active adapter
     * @param safe check each merged weight for NaN/Inf first; on failure what this call merged is
     *     unmerged again and the exception names the layer
     * @throws UnsupportedOperationException when the method cannot merge
     */
    default void merge(Module base, String adapter, boolean safe) {
        throw cannotMerge();
    }

    /**
     * Restores the base weights of everything merged.
     *
     * @param base the base model
     */
    default void unmerge(Module base) {
        // nothing is ever merged
    }

    /**
     * @param base the base model
     * @return whether anything is merged
     */
    default boolean isMerged(Module base) {
        return false;
    }

    /**
     * Takes every adapter of this method out of the base without merging (adapter layers replaced
     * by their base layers, hooks removed).
     *
     * @param base the base model, changed in place
     */
    void unload(Module base);

    /** @return the exception for a merge this method does not support */
    default UnsupportedOperationException cannotMerge() {
        return new UnsupportedOperationException(peftType() + " adapters cannot be merged");
    }
}
