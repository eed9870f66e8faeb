package dev.peft4j.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class OptimizersTest {

    private static final float[][] GRADS = {{0.1f, -0.2f, 0.3f}, {-0.5f, 0.4f, 0f}, {1f, 1f, -1f}};

    /** Runs three updates of p = [1, -2, 0.5] with GRADS and returns p after each. */
    private static float[][] run(ParameterOptimizer opt, double lr, NDManager m, OptimizerState state) {
        NDArray p = m.create(new float[] {1f, -2f, 0.5f});
        float[][] out = new float[GRADS.length][];
        for (int t = 0; t < GRADS.length; t++) {
            state.beginStep();
            opt.update("w", p, m.create(GRADS[t]), lr, state);
            out[t] = p.toFloatArray();
        }
        return out;
    }

    @Test
    void adamWMatchesTorchStepByStep() {
        // Values computed in double by torch.optim.AdamW's formulas (lr 0.1, wd 0.01, defaults).
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState("adamw", m)) {
            float[][] p = run(AdamW.builder().build(), 0.1, m, state);
            assertArrayEquals(new float[] {0.89900001f, -1.89800000f, 0.39950000f}, p[0], 1e-6f);
            assertArrayEquals(new float[] {0.95793643f, -1.93271236f, 0.33209468f}, p[1], 1e-6f);
            assertArrayEquals(new float[] {0.92106441f, -2.00064852f, 0.37808515f}, p[2], 1e-6f);
            assertArrayEquals(new float[] {0.0631f, 0.1198f, -0.0757f},
                    state.arrays().get("w.exp_avg").toFloatArray(), 1e-7f);
            assertArrayEquals(new float[] {0.00125973f, 0.00119976f, 0.00108982f},
                    state.arrays().get("w.exp_avg_sq").toFloatArray(), 1e-8f);
            assertEquals(3, state.step());
        }
    }

    @Test
    void sgdWithMomentumAndWeightDecayMatchesTorch() {
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState("sgd", m)) {
            float[][] p = run(Sgd.builder().optMomentum(0.9).optWeightDecay(0.1).build(), 0.1, m, state);
            assertArrayEquals(new float[] {0.98f, -1.96f, 0.465f}, p[0], 1e-6f);
            assertArrayEquals(new float[] {1.0022f, -1.9444f, 0.42885f}, p[1], 1e-6f);
            assertArrayEquals(new float[] {0.912158f, -2.010916f, 0.4920265f}, p[2], 1e-6f);
        }
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState("sgd", m)) {
            float[][] p = run(Sgd.builder().optMomentum(0.9).optNesterov(true).build(), 0.1, m, state);
            assertArrayEquals(new float[] {0.91111f, -2.22962f, 0.58683f}, p[2], 1e-6f);
        }
        try (NDManager m = NDManager.newBaseManager();
                OptimizerState state = new OptimizerState("sgd", m)) {
            float[][] p = run(Sgd.builder().build(), 0.1, m, state);
            assertArrayEquals(new float[] {0.94f, -2.12f, 0.57f}, p[2], 1e-6f);
            assertEquals(0, state.arrays().size(), "plain SGD keeps no state");
        }
    }

    @Test
    void stateRoundTripsThroughSafetensors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("optimizer.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            float[] expected;
            try (OptimizerState state = new OptimizerState("adamw", m)) {
                run(AdamW.builder().build(), 0.1, m, state);
                state.save(file);
                expected = state.arrays().get("w.exp_avg_sq").toFloatArray();
            }
            try (OptimizerState loaded = new OptimizerState("adamw", m)) {
                loaded.load(file);
                assertEquals(3, loaded.step());
                assertArrayEquals(expected, loaded.arrays().get("w.exp_avg_sq").toFloatArray());
            }
            try (OptimizerState other = new OptimizerState("sgd", m)) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> other.load(file));
                assertEquals("optimizer state " + file + " was written by 'adamw', this run uses 'sgd'",
                        e.getMessage());
            }
        }
    }

    @Test
    void buildersNameTheInvalidField() {
        assertEquals("beta2 must be in [0, 1), got 1.0", assertThrows(IllegalArgumentException.class,
                () -> AdamW.builder().optBetas(0.9, 1.0).build()).getMessage());
        assertEquals("weightDecay must not be negative, got -1.0", assertThrows(IllegalArgumentException.class,
                () -> AdamW.builder().optWeightDecay(-1).build()).getMessage());
        assertEquals("nesterov needs a positive momentum", assertThrows(IllegalArgumentException.class,
                () -> Sgd.builder().optNesterov(true).build()).getMessage());
    }
}
