package dev.peft4j.core.checkpoint;

import ai.djl.ndarray.NDArray;
import dev.peft4j.core.nn.DropoutMasks;

/**
 * A {@link CheckpointedLayer} made of residual blocks run in order, {@code x_{b+1} = block_b(x_b)},
 * each of the form {@code block_b(x) = x + tail_b(body_b(x))} with a linear {@code tail_b} (a
 * pre-norm transformer layer: attention then MLP, the tails {@code o_proj} and {@code down_proj}).
 *
 * <p>When a tail is a {@link FrozenLinear} map and the block is exactly {@code x + tail(body(x))}
 * (no residual hook), {@link LayerStack} recomputes the block only up to the tail's input and
 * back-propagates {@code g·W} into it, adding {@code g} for the residual: the tail's forward
 * product is skipped. It then keeps the block's input from the first pass, as it keeps the layer's.
 * Blocks whose {@link #frozenTail} is {@code null} are recomputed whole.
 *
 * <p>Random draws: the blocks must be run in order with nothing drawn by a frozen tail, so that a
 * recomputation that runs block {@code b}'s body (not its tail) and then block {@code b+1} draws the
 * same dropout masks as the first pass.
 */
public interface ResidualBlockLayer extends CheckpointedLayer {

    /**
     * @param index the layer index
     * @return the number of residual blocks of the layer
     */
    int blockCount(int index);

    /**
     * Runs block {@code block} of layer {@code index} whole; temporaries go to {@code x}'s manager.
     *
     * @param index the layer index
     * @param block the block index
     * @param x the block's input {@code [B, T, H]}
     * @param masks the layer's dropout mask source
     * @return the block's output {@code [B, T, H]}
     */
    NDArray block(int index, int block, NDArray x, DropoutMasks masks);

    /**
     * Runs block {@code block} of layer {@code index} up to its tail's input; only called when
     * {@link #frozenTail} is not {@code null}.
     *
     * @param index the layer index
     * @param block the block index
     * @param x the block's input {@code [B, T, H]}
     * @param masks the layer's dropout mask source
     * @return the tail's input
     */
    NDArray body(int index, int block, NDArray x, DropoutMasks masks);

    /**
     * @param index the layer index
     * @param block the block index
     * @return the tail's input gradient {@code dy ↦ dy·W} when the block is {@code x + tail(body(x))}
     *     with a frozen tail, else {@code null}
     */
    FrozenLinearTape.InputGradient frozenTail(int index, int block);

    /** Runs the blocks in order. */
    @Override
    default NDArray forward(int index, NDArray x, DropoutMasks masks) {
        NDArray y = x;
        for (int b = 0; b < blockCount(index); b++) {
            y = block(index, b, y, masks);
        }
        return y;
    }
}
