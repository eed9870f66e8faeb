package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Params;

import java.util.Random;

/**
 * Gives a new adapter its first values, following {@link LoraInit}. Random draws come from the
 * {@link Random} passed in (seeded by {@link LoraMethod} from its seed and the layer's path, so a
 * layer's values do not depend on the order layers are visited), and are made in Java, so they are
 * the same on every device and engine.
 */
final class LoraInitializer {

    private LoraInitializer() {}

    static void initialize(LoraLinear layer, String adapter, LoraInit init, NDManager manager, Random random) {
        LoraLinear.Settings s = layer.settings(adapter);
        int r = s.r();
        long in = layer.inFeatures();
        long out = layer.outFeatures();
        switch (init.kind()) {
            case DEFAULT:
                layer.assign(adapter, uniform(manager, random, new Shape(r, in), 1 / Math.sqrt(in)),
                        manager.zeros(new Shape(out, r)));
                break;
            case GAUSSIAN:
                layer.assign(adapter, normal(manager, random, new Shape(r, in), 1.0 / r),
                        manager.zeros(new Shape(out, r)));
                break;
            case RANDOM:
                layer.assign(adapter, uniform(manager, random, new Shape(r, in), 1 / Math.sqrt(in)),
                        uniform(manager, random, new Shape(out, r), 1 / Math.sqrt(r)));
                break;
            case PISSA:
                pissa(layer, adapter, init.niter(), manager, random);
                break;
            default:
                throw new IllegalStateException("unknown init " + init);
        }
        if (s.useDora()) {
            initMagnitude(layer, adapter, manager);
        }
    }

    /** DoRA: {@code m = ‖W + s·B·A‖} per output row. */
    static void initMagnitude(LoraLinear layer, String adapter, NDManager manager) {
        Parameter m = layer.magnitude(adapter);
        try (NDManager tmp = manager.newSubManager()) {
            NDArray w = layer.baseLayer().denseWeight(tmp).add(layer.deltaWeight(adapter, tmp));
            NDArray norm = w.square().sum(new int[] {1}).sqrt();
            norm.attach(manager);
            Params.assign(m, norm);
        }
    }

    /**
     * PiSSA: the top r singular triplets of W go to the adapter ({@code A = √S·Vᵀ}, {@code B = U·√S},
     * singular values divided by the scaling first) and the base keeps the residual {@code W - s·B·A}.
     * {@code niter < 0} takes the full SVD of W in EJML (double precision, O(out·in·min) time and an
     * out×in double copy: fine up to a few thousand per side); otherwise a randomized SVD with
     * {@code niter} subspace iterations.
     */
    private static void pissa(LoraLinear layer, String adapter, int niter, NDManager manager, Random random) {
        LoraLinear.Settings s = layer.settings(adapter);
        int r = s.r();
        try (NDManager tmp = manager.newSubManager()) {
            NDArray w = layer.baseLayer().denseWeight(tmp);
            LinAlg.Svd svd = niter < 0 ? LinAlg.svd(LinAlg.toMatrix(w)) : LinAlg.randomizedSvd(w, r, niter, random);
            long in = layer.inFeatures();
            long out = layer.outFeatures();
            float[] a = new float[(int) (r * in)];
            float[] b = new float[(int) (out * r)];
            for (int k = 0; k < r; k++) {
                double root = Math.sqrt(svd.s()[k] / s.scaling());
                for (int j = 0; j < in; j++) {
                    a[(int) (k * in + j)] = (float) (root * svd.v().get(j, k));
                }
                for (int i = 0; i < out; i++) {
                    b[(int) (i * r + k)] = (float) (root * svd.u().get(i, k));
                }
            }
            layer.assign(adapter, manager.create(a, new Shape(r, in)), manager.create(b, new Shape(out, r)));
            layer.writeBaseWeight(w.sub(layer.deltaWeight(adapter, tmp)));
        }
    }

    private static NDArray uniform(NDManager m, Random random, Shape shape, double bound) {
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
        }
        return m.create(v, shape);
    }

    private static NDArray normal(NDManager m, Random random, Shape shape, double std) {
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return m.create(v, shape);
    }
}
