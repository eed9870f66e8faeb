package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import dev.peft4j.core.model.hooks.PeftHooks;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleDict;
import dev.peft4j.core.peft.PeftConfig;
import dev.peft4j.core.peft.PeftMethod;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What PEFT's prompt-learning methods share: each adapter is a {@link PromptEncoder} under {@code
 * prompt_encoder.<adapter>} in the base model's tree, run by one of the model's prefix hooks while
 * active; the saved tensor is {@code prompt_embeddings} (the encoder's output), {@code
 * modules_to_save} are saved under {@code base_model.}; nothing is replaced and nothing merges.
 * PEFT refuses to load a prompt-learning adapter as trainable, and so does this.
 *
 * @param <C> the configuration type
 */
abstract class PromptLearningMethod<C extends PeftConfig> implements PeftMethod<C> {

    /** The child of the base model holding the encoders, PEFT's {@code prompt_encoder}. */
    static final String ENCODERS = "prompt_encoder";

    /** The saved key of the prompt, PEFT's. */
    static final String SAVED_KEY = "prompt_embeddings";

    /** The saved key prefix of {@code modules_to_save} for prompt learning. */
    static final String PREFIX = "base_model.";

    /**
     * Resolves the sizes PEFT fills from the base and checks the given ones.
     *
     * @throws IllegalArgumentException naming the field that does not fit the base
     */
    abstract C resolve(C config, BaseDims dims);

    /** Builds and initializes the adapter's encoder (zeros when weights will be loaded). */
    abstract PromptEncoder newEncoder(C config, BaseDims dims, NDManager manager, Random random, boolean loading);

    /** Installs the encoder as the model's hook. */
    abstract void install(PeftHooks hooks, PromptEncoder encoder);

    @Override
    public String modulesToSavePrefix() {
        return PREFIX;
    }

    /** Checks the config against the base (before anything changes); replaces no module. */
    @Override
    public List<String> targets(Module base, C config) {
        resolve(config, BaseDims.of(base));
        return List.of();
    }

    @Override
    public C inject(Module base, String adapter, C config, Context context) {
        if (context.loading() && !config.inferenceMode()) {
            throw new IllegalArgumentException("Cannot set a prompt learning adapter to trainable when loading"
                    + " pretrained adapter (as PEFT: the saved prompt_embeddings are the encoder's output, not"
                    + " its weights); load it for inference, or train a new adapter");
        }
        BaseDims dims = BaseDims.of(base);
        C resolved = resolve(config, dims);
        Random random = new Random(context.seed() * 1_000_003L + adapter.hashCode());
        PromptEncoder encoder = newEncoder(resolved, dims, context.manager(), random, context.loading());
        ModuleDict encoders = base.children().containsKey(ENCODERS) ? (ModuleDict) base.child(ENCODERS)
                : base.addChild(ENCODERS, new ModuleDict());
        encoders.put(adapter, encoder);
        return resolved;
    }

    @Override
    public void activate(Module base, String adapter, boolean disabled) {
        PeftHooks hooks = PeftHooks.of(base);
        hooks.setInputPrefix(null);
        hooks.setKeyValuePrefix(null);
        if (adapter != null && !disabled) {
            install(hooks, encoder(base, adapter));
        }
    }

    @Override
    public void delete(Module base, String adapter) {
        PromptEncoder encoder = encoder(base, adapter);
        PeftHooks hooks = PeftHooks.of(base);
        if (hooks.inputPrefix() instanceof VirtualPrompt p && p.encoder() == encoder) {
            hooks.setInputPrefix(null);
        }
        if (hooks.keyValuePrefix() instanceof VirtualPrefix p && p.encoder() == encoder) {
            hooks.setKeyValuePrefix(null);
        }
        Module encoders = base.child(ENCODERS);
        encoders.removeChild(adapter);
        if (encoders.children().isEmpty()) {
            base.removeChild(ENCODERS);
        }
    }

    @Override
    public List<String> adaptedPaths(Module base, String adapter) {
        encoder(base, adapter);
        return List.of(ENCODERS + "." + adapter);
    }

    @Override
    public List<Parameter> trainableParameters(Module base, String adapter, C config) {
        return new ArrayList<>(encoder(base, adapter).namedParameters().values());
    }

    /** {@code prompt_embeddings}: the table (its saved value is the encoder's output, {@link #computedTensors}). */
    @Override
    public Map<String, Parameter> savedParameters(Module base, String adapter, C config) {
        return Map.of(SAVED_KEY, encoder(base, adapter).table());
    }

    /** With an MLP head, {@code prompt_embeddings} is its output for the {@code n} virtual tokens, as PEFT saves it. */
    @Override
    public Map<String, NDArray> computedTensors(Module base, String adapter, C config, NDManager scratch) {
        PromptEncoder encoder = encoder(base, adapter);
        if (!encoder.hasHead()) {
            return Map.of();
        }
        NDArray out = encoder.forward(new ParameterStore(scratch, false), 1, scratch, false).squeeze(0);
        return Map.of(SAVED_KEY, out);
    }

    @Override
    public UnsupportedOperationException cannotMerge() {
        return new UnsupportedOperationException(peftType() + " adapters cannot be merged: the virtual tokens are"
                + " extra inputs, not a change of weights; run the model with the adapter loaded");
    }

    @Override
    public void unload(Module base) {
        PeftHooks hooks = PeftHooks.of(base);
        if (hooks.supportsPrefixes()) {
            hooks.setInputPrefix(null);
            hooks.setKeyValuePrefix(null);
        }
        if (base.children().containsKey(ENCODERS)) {
            base.removeChild(ENCODERS);
        }
    }

    /** @return the adapter's encoder */
    static PromptEncoder encoder(Module base, String adapter) {
        return (PromptEncoder) base.getModule(ENCODERS + "." + adapter);
    }

    /** @throws IllegalArgumentException when {@code given} is set and differs from {@code actual} */
    static void match(String field, Integer given, int actual, String what) {
        if (given != null && given != actual) {
            throw new IllegalArgumentException(field + " " + given + " does not match the base model's " + what
                    + " " + actual);
        }
    }
}
