package dev.peft4j.core.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.io.TensorSource;

import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The settings every checkpoint loader takes, in DJL's style: {@code setX} for the required
 * source and manager, {@code optX} for the rest; {@link #settings} validates them into a {@link
 * WeightLoader.Request}. Extended by the builders of {@link StateDictLoader} and of peft-quant's
 * {@code QuantizedLoader}.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class LoaderBuilder<B extends LoaderBuilder<B>> {

    private TensorSource source;
    private NDManager manager;
    private DataType dataType = DataType.FLOAT32;
    private boolean strict = true;
    private Function<String, String> keyMapper = Function.identity();
    private Predicate<String> ignore = k -> false;
    private Predicate<String> mayBeMissing = k -> false;

    /** For subclasses. */
    protected LoaderBuilder() {}

    /** @return this builder as its concrete type */
    protected abstract B self();

    /**
     * @param source where the tensors come from (required)
     * @return this builder
     */
    public B setSource(TensorSource source) {
        this.source = source;
        return self();
    }

    /**
     * @param manager owner of the loaded arrays (required); its device is where they go
     * @return this builder
     */
    public B setManager(NDManager manager) {
        this.manager = manager;
        return self();
    }

    /**
     * @param dataType type the full-precision floating tensors are converted to (default float32)
     * @return this builder
     */
    public B optDataType(DataType dataType) {
        this.dataType = dataType;
        return self();
    }

    /**
     * @param strict whether any mismatch throws (default true)
     * @return this builder
     */
    public B optStrict(boolean strict) {
        this.strict = strict;
        return self();
    }

    /**
     * @param keyMapper maps a checkpoint name to a parameter path; returning {@code null} skips
     *     the tensor silently (default identity)
     * @return this builder
     */
    public B optKeyMapper(Function<String, String> keyMapper) {
        this.keyMapper = keyMapper;
        return self();
    }

    /**
     * @param ignore checkpoint names to skip silently, e.g. buffers such as {@code
     *     embeddings.position_ids}
     * @return this builder
     */
    public B optIgnore(Predicate<String> ignore) {
        this.ignore = ignore;
        return self();
    }

    /**
     * @param mayBeMissing parameter paths that strict mode lets be absent from the checkpoint
     *     (a fresh head the caller initializes afterwards); default none
     * @return this builder
     */
    public B optMayBeMissing(Predicate<String> mayBeMissing) {
        this.mayBeMissing = Objects.requireNonNull(mayBeMissing, "mayBeMissing");
        return self();
    }

    /**
     * Validates the settings.
     *
     * @param owner the loader's name, for messages
     * @return the settings
     * @throws NullPointerException naming the missing required value
     * @throws IllegalArgumentException when the data type is not floating
     */
    protected WeightLoader.Request settings(String owner) {
        Objects.requireNonNull(source, owner + ": source is required (setSource)");
        Objects.requireNonNull(manager, owner + ": manager is required (setManager)");
        Objects.requireNonNull(keyMapper, owner + ": keyMapper is null");
        Objects.requireNonNull(ignore, owner + ": ignore is null");
        if (dataType == null || !dataType.isFloating()) {
            throw new IllegalArgumentException(owner + ": dataType must be floating, got " + dataType);
        }
        return new WeightLoader.Request(source, manager, dataType, keyMapper, ignore, strict, mayBeMissing);
    }
}
