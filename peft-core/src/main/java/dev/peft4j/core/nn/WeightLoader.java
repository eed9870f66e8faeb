package dev.peft4j.core.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.core.io.TensorSource;

import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * How a model family's loader moves checkpoint tensors into the model it has built. The family
 * loader decides the names (key mapper), the tensors to ignore and the strictness; the weight
 * loader decides how the values land: {@link #FULL_PRECISION} through {@link StateDictLoader}, or
 * peft-quant's quantizing loader, which replaces the linear layers by 4-bit ones and quantizes
 * their weights while they stream in (never the whole model in float32).
 */
@FunctionalInterface
public interface WeightLoader {

    /** Every tensor converted to the requested floating type, through {@link StateDictLoader}. */
    WeightLoader FULL_PRECISION = (model, r) -> new StateDictLoader(r).load(model);

    /**
     * Fills {@code model} (and may replace its layers in place) from the request's tensors.
     *
     * @param model the freshly built model
     * @param request where the tensors come from and how their names map
     * @return what was loaded, missing, unexpected or mismatched
     * @throws StateDictException in strict mode when anything does not match
     */
    StateDictReport load(Module model, Request request);

    /**
     * What a family loader asks for.
     *
     * @param source the tensors (the caller keeps ownership)
     * @param manager owner of the loaded arrays; its device is where they live
     * @param dataType the floating type of full-precision parameters
     * @param keyMapper checkpoint name to parameter path, {@code null} to skip the tensor
     * @param ignore checkpoint names to skip silently
     * @param strict whether any mismatch throws
     * @param mayBeMissing parameter paths strict mode lets be absent (a fresh head)
     */
    record Request(TensorSource source, NDManager manager, DataType dataType, Function<String, String> keyMapper,
            Predicate<String> ignore, boolean strict, Predicate<String> mayBeMissing) {

        /** Checks that nothing is null. */
        public Request {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(manager, "manager");
            Objects.requireNonNull(dataType, "dataType");
            Objects.requireNonNull(keyMapper, "keyMapper");
            Objects.requireNonNull(ignore, "ignore");
            Objects.requireNonNull(mayBeMissing, "mayBeMissing");
        }

        /**
         * A request with nothing allowed to be missing.
         *
         * @param source the tensors
         * @param manager owner of the loaded arrays
         * @param dataType the floating type of full-precision parameters
         * @param keyMapper checkpoint name to parameter path
         * @param ignore checkpoint names to skip silently
         * @param strict whether any mismatch throws
         */
        public Request(TensorSource source, NDManager manager, DataType dataType, Function<String, String> keyMapper,
                Predicate<String> ignore, boolean strict) {
            this(source, manager, dataType, keyMapper, ignore, strict, path -> false);
        }
    }
}
