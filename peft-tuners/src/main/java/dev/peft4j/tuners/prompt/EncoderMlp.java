package dev.peft4j.tuners.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;

import java.util.Random;

/**
 * PEFT's reparameterization MLPs, an {@code nn.Sequential} whose linear layers keep their indices
 * as child names ({@code 0}, {@code 2}, {@code 4}) with an activation between them:
 * P-tuning's {@code mlp_head} {@code Linear(d, h) → ReLU → Linear(h, h) → ReLU → Linear(h, d)}
 * and prefix tuning's {@code transform} {@code Linear(d, h) → Tanh → Linear(h, out)}.
 */
final class EncoderMlp extends Module {

    /** The activation between the linear layers. */
    enum Act { RELU, TANH }

    private final Act act;
    private final int layers;

    /**
     * @param widths the widths from input to output ({@code layers + 1} values)
     * @param act the activation between layers
     */
    private EncoderMlp(long[] widths, Act act) {
        this.act = act;
        this.layers = widths.length - 1;
        for (int i = 0; i < layers; i++) {
            registerModule(Integer.toString(2 * i), new Linear(widths[i], widths[i + 1], true));
        }
    }

    /** @return P-tuning's three-layer ReLU MLP {@code d → h → h → d} */
    static EncoderMlp pTuning(long d, long h) {
        return new EncoderMlp(new long[] {d, h, h, d}, Act.RELU);
    }

    /** @return prefix tuning's two-layer Tanh MLP {@code d → h → out} */
    static EncoderMlp prefix(long d, long h, long out) {
        return new EncoderMlp(new long[] {d, h, out}, Act.TANH);
    }

    /**
     * PyTorch's {@code nn.Linear} initialization for every layer: weight and bias uniform in
     * {@code ±1/sqrt(in)}; with {@code zeroLast} the last layer starts at zero (PEFT's {@code
     * init_weights="zero"}).
     */
    void initialize(NDManager manager, Random random, boolean zeroLast) {
        for (int i = 0; i < layers; i++) {
            Linear l = (Linear) child(Integer.toString(2 * i));
            double bound = 1 / Math.sqrt(l.inFeatures());
            boolean zero = zeroLast && i == layers - 1;
            Params.assign(l.parameter("weight"), uniform(manager, random, bound, zero, l.outFeatures(), l.inFeatures()));
            Params.assign(l.parameter("bias"), uniform(manager, random, bound, zero, l.outFeatures()));
        }
    }

    private static NDArray uniform(NDManager manager, Random random, double bound, boolean zero, long... shape) {
        Shape s = new Shape(shape);
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length && !zero; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        return manager.create(v, s);
    }

    /**
     * @param ps the parameter store
     * @param x {@code [..., d]}
     * @param training whether this is a training pass
     * @return {@code [..., out]}
     */
    NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray h = x;
        for (int i = 0; i < layers; i++) {
            h = ((Linear) child(Integer.toString(2 * i))).forward(ps, h, training);
            if (i < layers - 1) {
                h = act == Act.RELU ? Activation.relu(h) : h.tanh();
            }
        }
        return h;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                                     PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
