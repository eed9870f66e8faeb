package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import dev.peft4j.core.io.DType;
import dev.peft4j.core.io.TensorSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

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

    private final TensorSource source;
    private final NDManager manager;
    private final DataType dataType;
    private final boolean strict;
    private final Function<String, String> keyMapper;
    private final Predicate<String> ignore;
    private final Predicate<String> mayBeMissing;

    private StateDictLoader(Builder b) {
        this.source = b.source;
        this.manager = b.manager;
        this.dataType = b.dataType;
        this.strict = b.strict;
        this.keyMapper = b.keyMapper;
        this.ignore = b.ignore;
        this.mayBeMissing = b.mayBeMissing;
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
        StateDictPlan plan =
                StateDictPlan.of(module, source, keyMapper, ignore, StateDictPlan.Fit.sameShape())
                        .check(strict, mayBeMissing, source.location().toString());
        for (StateDictPlan.Entry e : plan.entries()) {
            assign(e.parameter(), e.name());
        }
        return plan.report();
    }

    private void assign(Parameter p, String name) {
        NDArray value;
        try {
            value = source.load(name, manager);
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot read tensor '" + name + "' from " + source.location(), ex);
        }
        DType stored = source.info(name).dtype();
        if (stored.isFloating() && value.getDataType() != dataType) {
            NDArray converted = value.toType(dataType, false);
            value.close();
            value = converted;
        }
        Params.assign(p, value);
    }

    /** Builder of {@link StateDictLoader}: {@code setX} required, {@code optX} optional. */
    public static final class Builder {
        private TensorSource source;
        private NDManager manager;
        private DataType dataType = DataType.FLOAT32;
        private boolean strict = true;
        private Function<String, String> keyMapper = Function.identity();
        private Predicate<String> ignore = k -> false;
        private Predicate<String> mayBeMissing = k -> false;

        private Builder() {}

        /**
         * @param source where the tensors come from (required)
         * @return this builder
         */
        public Builder setSource(TensorSource source) {
            this.source = source;
            return this;
        }

        /**
         * @param manager owner of the loaded arrays (required); its device is where they go
         * @return this builder
         */
        public Builder setManager(NDManager manager) {
            this.manager = manager;
            return this;
        }

        /**
         * @param dataType type floating tensors are converted to (default float32)
         * @return this builder
         */
        public Builder optDataType(DataType dataType) {
            this.dataType = dataType;
            return this;
        }

        /**
         * @param strict whether any mismatch throws (default true)
         * @return this builder
         */
        public Builder optStrict(boolean strict) {
            this.strict = strict;
            return this;
        }

        /**
         * @param keyMapper maps a checkpoint name to a parameter path; returning {@code null} skips
         *     the tensor silently (default identity)
         * @return this builder
         */
        public Builder optKeyMapper(Function<String, String> keyMapper) {
            this.keyMapper = keyMapper;
            return this;
        }

        /**
         * @param ignore checkpoint names to skip silently, e.g. buffers such as {@code
         *     embeddings.position_ids}
         * @return this builder
         */
        public Builder optIgnore(Predicate<String> ignore) {
            this.ignore = ignore;
            return this;
        }

        /**
         * @param mayBeMissing parameter paths that strict mode lets be absent from the checkpoint
         *     (a fresh head the caller initializes afterwards); default none
         * @return this builder
         */
        public Builder optMayBeMissing(Predicate<String> mayBeMissing) {
            this.mayBeMissing = Objects.requireNonNull(mayBeMissing, "mayBeMissing");
            return this;
        }

        /** @return the loader */
        public StateDictLoader build() {
            Objects.requireNonNull(source, "StateDictLoader: source is required (setSource)");
            Objects.requireNonNull(manager, "StateDictLoader: manager is required (setManager)");
            Objects.requireNonNull(keyMapper, "StateDictLoader: keyMapper is null");
            Objects.requireNonNull(ignore, "StateDictLoader: ignore is null");
            if (!dataType.isFloating()) {
                throw new IllegalArgumentException(
                        "StateDictLoader: dataType must be floating, got " + dataType);
            }
            return new StateDictLoader(this);
        }
    }
}
