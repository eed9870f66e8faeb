package dev.peft4j.tuners.bottleneck;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;

import java.util.Map;
import java.util.Random;

/**
 * First values of a new {@link BottleneckAdapter} per AdapterHub's {@code init_weights}, drawn in
 * Java from a seeded {@link Random} (the same on every engine; not torch's stream):
 *
 * <ul>
 *   <li>{@code bert}: every Linear weight (down, up, gate) N(0, 0.02), biases 0 — the up
 *       projection is small, not zero, so a fresh adapter already moves the output slightly;
 *   <li>{@code houlsby}: down and up weights N(0, 0.01) truncated to [-0.02, 0.02], biases 0; a
 *       gate keeps PyTorch's Linear default (U(±1/√in) weight and bias);
 *   <li>{@code mam_adapter}: down weight Kaiming-uniform (a = √5, i.e. U(±1/√in)), down bias 0,
 *       up weight and bias 0 (the adapter starts as the identity), gate as {@code bert}.
 * </ul>
 * LayerNorms ({@code ln_before}, {@code ln_after}) start at weight 1, bias 0.
 */
final class BottleneckInit {

    private BottleneckInit() {}

    static void initialize(BottleneckAdapter a, NDManager manager, Random random) {
        String init = a.config().initWeights();
        for (Map.Entry<String, Parameter> e : a.namedParameters().entrySet()) {
            String key = e.getKey();
            Shape shape = shapeOf(a, key);
            boolean bias = key.endsWith("bias");
            boolean norm = key.startsWith("adapter_norm_after") || (a.config().lnBefore() && key.startsWith("adapter_down.0"));
            boolean up = key.startsWith("adapter_up");
            boolean gate = key.startsWith("gate");
            float[] v = new float[(int) shape.size()];
            if (norm) {
                java.util.Arrays.fill(v, bias ? 0f : 1f);
            } else if (init.equals("houlsby") && gate) {
                float bound = (float) (1 / Math.sqrt(a.hiddenSize()));
                uniform(v, random, bound);
            } else if (bias) {
                // zero
            } else if (init.equals("bert") || gate) {
                normal(v, random, 0.02);
            } else if (init.equals("houlsby")) {
                for (int i = 0; i < v.length; i++) {
                    double x;
                    do {
                        x = random.nextGaussian() * 0.01;
                    } while (x < -0.02 || x > 0.02);
                    v[i] = (float) x;
                }
            } else if (!up) { // mam_adapter down
                uniform(v, random, (float) (1 / Math.sqrt(shape.get(1))));
            }
            Params.assign(e.getValue(), manager.create(v, shape));
        }
    }

    private static Shape shapeOf(Module m, String path) {
        int dot = path.lastIndexOf('.');
        Module owner = dot < 0 ? m : m.getModule(path.substring(0, dot));
        return owner.expectedShape(path.substring(dot + 1));
    }

    private static void normal(float[] v, Random random, double std) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
    }

    private static void uniform(float[] v, Random random, float bound) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (random.nextFloat() * 2 - 1) * bound;
        }
    }
}
