package dev.peft4j.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** A lookup table: {@code weight} of shape {@code [numEmbeddings, dim]}, indexed by int64 ids. */
public class Embedding extends Module {

    private final long numEmbeddings;
    private final long dim;

    /**
     * @param numEmbeddings table size (vocabulary), positive
     * @param dim embedding width, positive
     */
    public Embedding(long numEmbeddings, long dim) {
        if (numEmbeddings <= 0 || dim <= 0) {
            throw new IllegalArgumentException(
                    "Embedding needs positive sizes, got " + numEmbeddings + "x" + dim);
        }
        this.numEmbeddings = numEmbeddings;
        this.dim = dim;
        registerParameter("weight", Parameter.Type.WEIGHT, new Shape(numEmbeddings, dim));
    }

    /** @return table size */
    public long numEmbeddings() {
        return numEmbeddings;
    }

    /** @return embedding width */
    public long dim() {
        return dim;
    }

    /**
     * Looks ids up.
     *
     * @param ps the parameter store
     * @param ids integer ids of any shape
     * @param training whether this is a training pass
     * @return {@code [...ids shape, dim]}
     */
    public NDArray forward(ParameterStore ps, NDArray ids, boolean training) {
        NDArray w = ps.getValue(parameter("weight"), ids.getDevice(), training);
        NDArray idx = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        return ai.djl.nn.core.Embedding.embedding(idx, w, SparseFormat.DENSE).singletonOrThrow();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }

    @Override
    public String toString() {
        return "Embedding(" + numEmbeddings + ", " + dim + ")";
    }
}
