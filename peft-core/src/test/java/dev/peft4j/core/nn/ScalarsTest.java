package dev.peft4j.core.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;

import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Regression tests for gradients that were wrong or NaN when a garbage collection ran between the
 * forward and the backward pass: DJL's {@code NDArray.mul/div/pow(Number)} wrap a temporary Java
 * direct buffer without copying and close it at once, while autograd keeps it for backward (see
 * {@link Scalars}). The tests force that collection, so they fail deterministically without the fix.
 */
class ScalarsTest {

    private static final float[] X = {0.5f, -1.25f, 2f, 0.75f, -0.3f, 1.1f, -2.2f, 0.9f};
    private static final float[] C = {1f, -2f, 0.5f, 3f, -1f, 0.25f, 2f, -0.75f};

    /** Makes unreachable direct buffers be freed (their cleaners run on the reference handler). */
    static void collectGarbage() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            byte[][] churn = new byte[16][];
            for (int j = 0; j < churn.length; j++) {
                churn[j] = new byte[1 << 16];
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Gradient of {@code sum(C · f(x))} with respect to {@code x}, a GC forced before backward. */
    private static float[] gradient(Function<NDArray, NDArray> f) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(X);
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray loss = f.apply(x).mul(m.create(C)).sum();
                collectGarbage();
                gc.backward(loss);
            }
            return x.getGradient().toFloatArray();
        }
    }

    private static void assertClose(double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4 * Math.max(1, Math.abs(expected[i])), "element " + i);
        }
    }

    @Test
    void mulGradientSurvivesGarbageCollection() {
        for (int round = 0; round < 3; round++) {
            double[] want = new double[X.length];
            for (int i = 0; i < X.length; i++) {
                want[i] = 0.37 * C[i];
            }
            assertClose(want, gradient(x -> Scalars.mul(x, 0.37)));
        }
    }

    @Test
    void divAndPowGradientsSurviveGarbageCollection() {
        double[] div = new double[X.length];
        double[] pow = new double[X.length];
        for (int i = 0; i < X.length; i++) {
            div[i] = C[i] / 4.0;
            pow[i] = C[i] * 3 * X[i] * X[i];
        }
        assertClose(div, gradient(x -> Scalars.div(x, 4)));
        assertClose(pow, gradient(x -> Scalars.pow(x, 3)));
    }

    @Test
    void addAndSubValuesAndGradients() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(X);
            float[] plus = Scalars.add(x, 0.5).toFloatArray();
            float[] minus = Scalars.sub(x, 1).toFloatArray();
            for (int i = 0; i < X.length; i++) {
                assertEquals(X[i] + 0.5f, plus[i], 0f);
                assertEquals(X[i] - 1f, minus[i], 0f);
            }
        }
        // d/dx sum(C · (x + a)²) = 2·C·(x + a), with the shifted value inside the graph.
        double[] add = new double[X.length];
        double[] sub = new double[X.length];
        for (int i = 0; i < X.length; i++) {
            add[i] = 2 * C[i] * (X[i] + 0.5);
            sub[i] = 2 * C[i] * (X[i] - 1);
        }
        assertClose(add, gradient(x -> Scalars.add(x, 0.5).square()));
        assertClose(sub, gradient(x -> Scalars.sub(x, 1).square()));
    }

    @Test
    void scalarKeepsTypeAndDevice() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(X).toType(DataType.FLOAT16, false);
            NDArray y = Scalars.mul(x, 2);
            assertEquals(DataType.FLOAT16, y.getDataType());
            assertEquals(2 * X[1], y.toType(DataType.FLOAT32, false).getFloat(1), 1e-2);
        }
    }

    /** The module that diverged training: its {@code pow(-1)} exponent was read after being freed. */
    @Test
    void rmsNormInputGradientSurvivesGarbageCollection() {
        double eps = 1e-6;
        int n = X.length;
        double ms = 0;
        for (float v : X) {
            ms += v * v;
        }
        double r = 1 / Math.sqrt(ms / n + eps);
        double cx = 0;
        for (int i = 0; i < n; i++) {
            cx += C[i] * X[i];
        }
        double[] want = new double[n];
        for (int j = 0; j < n; j++) {
            want[j] = C[j] * r - cx * r * r * r * X[j] / n;
        }
        for (int round = 0; round < 3; round++) {
            RmsNorm norm = new RmsNorm(n, (float) eps);
            float[] got;
            try (NDManager m = NDManager.newBaseManager()) {
                norm.initialize(m, DataType.FLOAT32);
                got = gradient(x -> norm.forward(new ParameterStore(x.getManager(), false), x.reshape(1, n), true)
                        .reshape(n));
            }
            assertClose(want, got);
        }
    }
}
