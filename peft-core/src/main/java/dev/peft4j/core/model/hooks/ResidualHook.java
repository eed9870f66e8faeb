package dev.peft4j.core.model.hooks;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/**
 * Replaces a sublayer's residual connection, {@code norm(output + residual)} ({@link
 * Residual#standard()}), as AdapterHub's {@code BottleneckLayer} does. Bottleneck adapters are
 * implementations, with {@code f} the adapter and {@code h}, {@code r}, {@code LN} the {@link
 * Residual}'s output, residual and norm:
 *
 * <ul>
 *   <li>SeqBn (Pfeiffer; {@code original_ln_before}, {@code residual_before_ln}): {@code LN(h + r
 *       + f(LN(h + r)))};
 *   <li>DoubleSeqBn (Houlsby, at both sites): {@code LN(h + r + f(h))};
 *   <li>ParBn (parallel, reads the sublayer input): {@code LN(h + r + f(r))}.
 * </ul>
 *
 * <p>Arrays the hook makes belong to the output's manager; parameters should be read through
 * {@code ps} so that gradients reach them, and scalar factors applied with {@code
 * dev.peft4j.core.nn.Scalars}. The arrays it is given may live in a per-layer scope that is
 * closed after the layer (BERT's encoder): copy and attach elsewhere whatever must outlive it.
 */
@FunctionalInterface
public interface ResidualHook {

    /**
     * @param ps the parameter store of the pass
     * @param site the sublayer output, residual and norm
     * @param training whether this is a training pass
     * @return the block's output {@code [B, T, H]}
     */
    NDArray apply(ParameterStore ps, Residual site, boolean training);
}
