package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorSource;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Loads named tensors into a {@link Module} tree by Hugging Face names, tensor by tensor.
 *
 * <pre>{@code
 * StateDictReport report = StateDictLoader.builder()
 *         .setSource(TensorSources.open(dir))
 *         .setManager(manager)
 *         .optKeyMapper(k -> k.startsWith("bert.") ? k.substring(5) : k)
 *         .build()
 *         .load(model);
 * }</pre>
 *
 * <p>Everything is checked before any parameter changes: in strict mode (the default) a missing,
 * unexpected or shape-mismatched tensor throws {@link StateDictException} listing them all and
 * leaves the model untouched. Floating tensors are converted to {@link Builder#optDataType the
 * model's type} (float32 by default); a parameter that already holds an array is overwritten in
 * place.
 */
public final class StateDictLoader {

    private final WeightLoader.Request settings;

    /** A loader of the given settings ({@link WeightLoader#FULL_PRECISION} runs one). */
    StateDictLoader(WeightLoader.Request settings) {
        this.settings = settings;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Checks, then loads.
     *
     * @param module the root of the tree to fill
     * @return what was loaded and what did not match
     * @throws StateDictException in strict mode when anything does not match
     * @throws UncheckedIOException when a tensor cannot be read
     */
    public StateDictReport load(Module module) {
        WeightLoader.Request r = settings;
        StateDictPlan plan = StateDictPlan.of(module, r.source(), r.keyMapper(), r.ignore(), StateDictPlan.Fit.sameShape())
                .check(r.strict(), r.mayBeMissing(), r.source().location().toString());
        for (StateDictPlan.Entry e : plan.entries()) {
            assign(e.parameter(), e.name());
        }
        return plan.report();
    }

    private void assign(Parameter p, String name) {
        TensorSource source = settings.source();
        NDArray value;
        try {
            value = source.load(name, settings.manager());
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot read tensor '" + name + "' from " + source.location(), ex);
        }
        DType stored = source.info(name).dtype();
        if (stored.isFloating() && value.getDataType() != settings.dataType()) {
            NDArray converted = value.toType(settings.dataType(), false);
            value.close();
            value = converted;
        }
        Params.assign(p, value);
    }

    /** Builder of {@link StateDictLoader}: {@code setX} required, {@code optX} optional. */
    public static final class Builder extends LoaderBuilder<Builder> {

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** @return the loader */
        public StateDictLoader build() {
            return new StateDictLoader(settings("StateDictLoader"));
        }
    }
}
