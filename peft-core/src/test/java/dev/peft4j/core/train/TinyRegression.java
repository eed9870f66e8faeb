package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Dropout;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.Params;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny regression problem for trainer tests: a frozen input projection (the "base model"), then
 * a trainable 2-layer MLP with dropout; 40 examples of y = Σ wᵢ·xᵢ + noise. Initialization and
 * data are fixed by seeds, so two instances are identical.
 */
final class TinyRegression {

    static final int FEATURES = 4;

    /** The model. */
    static final class Mlp extends Module {
        Mlp(double dropout) {
            registerModule("input", new Linear(FEATURES, 8, false));
            registerModule("fc1", new Linear(8, 16, true));
            registerModule("dropout", new Dropout(dropout));
            registerModule("fc2", new Linear(16, 1, true));
        }

        NDArray forward(ParameterStore ps, NDArray x, boolean training) {
            NDArray h = ((Linear) child("input")).forward(ps, x, training);
            h = ((Linear) child("fc1")).forward(ps, h, training).getNDArrayInternal().relu();
            h = ((Dropout) child("dropout")).forward(h, training);
            return ((Linear) child("fc2")).forward(ps, h, training);
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            return new NDList(forward(ps, in.singletonOrThrow(), training));
        }
    }

    final float[][] x;
    final float[] y;

    TinyRegression(int size) {
        StepRandom r = StepRandom.of(123);
        float[] w = {0.5f, -1f, 2f, 0.25f};
        x = new float[size][FEATURES];
        y = new float[size];
        for (int i = 0; i < size; i++) {
            float t = 0;
            for (int j = 0; j < FEATURES; j++) {
                x[i][j] = (float) (r.nextDouble() * 2 - 1);
                t += w[j] * x[i][j];
            }
            y[i] = t + (float) (r.nextDouble() - 0.5) * 0.1f;
        }
    }

    /**
     * A model with fixed weights in {@code manager}; {@code input} is frozen.
     */
    static Mlp model(NDManager manager, double dropout) {
        Mlp m = new Mlp(dropout);
        StepRandom r = StepRandom.of(7);
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            String path = e.getKey();
            Module owner = m.getModule(path.substring(0, path.lastIndexOf('.')));
            Shape shape = owner.expectedShape(path.substring(path.lastIndexOf('.') + 1));
            float[] values = new float[(int) shape.size()];
            double scale = 1 / Math.sqrt(shape.get(shape.dimension() - 1));
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
            }
            Params.assign(e.getValue(), manager.create(values, shape));
        }
        m.freeze(p -> p.startsWith("input."));
        return m;
    }

    /** Mean squared error of a batch. */
    TrainStep step(Mlp model) {
        return (ps, manager, ids, training) -> {
            float[] xs = new float[ids.size() * FEATURES];
            float[] ys = new float[ids.size()];
            for (int i = 0; i < ids.size(); i++) {
                System.arraycopy(x[ids.get(i)], 0, xs, i * FEATURES, FEATURES);
                ys[i] = y[ids.get(i)];
            }
            NDArray in = manager.create(xs, new Shape(ids.size(), FEATURES));
            NDArray target = manager.create(ys, new Shape(ids.size(), 1));
            NDArray pred = model.forward(ps, in, training);
            return new StepOutput(pred.sub(target).square().mean(), ids.size() * 3L);
        };
    }

    /** Copies of every parameter's values by path. */
    static Map<String, float[]> snapshot(Module model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.namedParameters().forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    static List<String> trainablePaths() {
        return List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias");
    }
}
